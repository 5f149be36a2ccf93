// 导航 on the office ticket page (issue 19), called from run.mjs with its
// helpers `h`: the links open the ticket's position in Amap and Tencent
// Maps (GCJ-02), Baidu Maps (BD-09) and any map app (geo:, WGS-84); the
// converted positions lie the datum offsets away from the WGS-84 one.

import assert from 'node:assert/strict';

/** Great-circle metres between two [lat, lon]. */
function metres([lat1, lon1], [lat2, lon2]) {
  const r = (d) => (d * Math.PI) / 180;
  const a = Math.sin(r(lat2 - lat1) / 2) ** 2
    + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
}

/** The two numbers after `key` in `url`. */
function pair(url, key) {
  const m = url.match(new RegExp(`${key}(-?[0-9.]+),(-?[0-9.]+)`));
  assert.ok(m, `${key} in ${url}`);
  return [Number(m[1]), Number(m[2])];
}

export async function navigationLinks(office, ticketId, h) {
  const ticket = await h.apiGet(`/v1/tickets/${ticketId}`, h.officeToken);
  const wgs = [ticket.location.lat, ticket.location.lon];
  const links = office.locator('#navigate a');
  await links.first().waitFor();
  const found = await links.evaluateAll((as) => as.map((a) => ({
    map: a.dataset.map, datum: a.dataset.datum, href: a.getAttribute('href'), text: a.textContent,
    rel: a.getAttribute('rel'), target: a.getAttribute('target'),
  })));
  const by = Object.fromEntries(found.map((l) => [l.map, l]));
  assert.deepEqual(found.map((l) => l.map), ['amap', 'baidu', 'tencent', 'geo']);
  assert.deepEqual(found.map((l) => l.text), ['高德地图', '百度地图', '腾讯地图', '其他地图应用']);
  assert.equal(await office.locator('#navigate h3').textContent(), '导航');
  assert.ok(found.every((l) => l.target === '_blank' && l.rel.includes('noopener')));

  assert.ok(by.amap.href.startsWith('https://uri.amap.com/marker?') && by.amap.href.includes('coordinate=gaode'), by.amap.href);
  assert.ok(by.baidu.href.startsWith('https://api.map.baidu.com/marker?') && by.baidu.href.includes('coord_type=bd09ll'), by.baidu.href);
  assert.ok(by.tencent.href.startsWith('https://apis.map.qq.com/uri/v1/marker?'), by.tencent.href);
  const [alon, alat] = pair(by.amap.href, 'position=');
  const tencent = pair(by.tencent.href, 'coord:');
  const baidu = pair(by.baidu.href, 'location=');
  const geo = pair(by.geo.href, 'geo:');
  // geo: is the stored WGS-84 position; Amap and Tencent agree on GCJ-02,
  // ~0.5 km off in Xian'an; Baidu's BD-09 ~1.2 km off.
  assert.ok(metres(geo, wgs) < 0.2, `${geo} vs ${wgs}`);
  assert.ok(metres([alat, alon], tencent) < 0.2, `${[alat, alon]} vs ${tencent}`);
  const gcj = metres([alat, alon], wgs);
  const bd = metres(baidu, wgs);
  assert.ok(gcj > 300 && gcj < 700, `GCJ-02 ${gcj} m from WGS-84`);
  assert.ok(bd > 900 && bd < 1500, `BD-09 ${bd} m from WGS-84`);
  assert.deepEqual(found.map((l) => l.datum), ['gcj02', 'bd09', 'gcj02', 'wgs84']);
  h.check(`导航 offers Amap and Tencent (GCJ-02, ${Math.round(gcj)} m off), Baidu (BD-09, ${Math.round(bd)} m off) and geo: (WGS-84)`);
  await office.locator('#navigate').scrollIntoViewIfNeeded();
  await h.shot(office, 'office-ticket-navigate');
}
