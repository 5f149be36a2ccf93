// The courier's loop end to end (issue 13), on a phone, against the
// verification and rewards APIs:
//   (a) submit → the office resolves → the open page shows it → 已修好 →
//       points paid → a reward the supervisor created is redeemed → pickup code;
//   (b) 没修好 reopens the ticket, and the office sees it reopened;
//   (c) a second courier near the spot checks the fix with a fresh photo.

import assert from 'node:assert/strict';

async function apiSend(h, method, path, token, json, headers = {}) {
  const r = await fetch(h.base + path, {
    method, body: JSON.stringify(json),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

async function signIn(page, h, token) {
  await page.goto(h.base + '/');
  await page.locator('#signin #token').fill(token);
  await Promise.all([page.waitForEvent('load'), page.locator('#signin button[type=submit]').click()]);
  await page.locator('#app').waitFor({ state: 'visible' });
}

/** Submits a report from the page at the phone's position; its report and ticket ids. */
async function submit(page, h, text, photo) {
  await page.locator('#photo').setInputFiles(photo);
  await h.waitFor('the shrunk photo', () => page.locator('#photo-status').getAttribute('data-exif'));
  await page.locator('#text').fill(text);
  await page.locator('#submit').click();
  const reportId = await h.waitFor('the report id', () => page.locator('#result').getAttribute('data-report-id'));
  return { reportId, ticketId: await h.ticketOf(reportId) };
}

/** The office acknowledges and resolves `ticket` through the API. */
async function officeResolves(h, ticket) {
  for (const [action, body] of [['acknowledge', {}], ['resolve', { note: '已修复 repaired' }]]) {
    const r = await apiSend(h, 'POST', `/v1/tickets/${ticket}/${action}`, h.officeToken, body);
    assert.equal(r.status, 200, `${action}: ${r.text}`);
  }
}

/** The card of `reportId`, once the open page shows its ticket resolved and verifiable. */
async function resolvedCard(page, h, reportId) {
  const card = page.locator(`#mine li.report-card[data-report-id="${reportId}"]`);
  await h.waitFor('the resolved card with its verify buttons', async () => (await card.locator('.do-fixed').count()) > 0, 30000);
  assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
  return card;
}

/** A photo for a file input, distinct in perceptual hash from every other (run.mjs's `distinctPhoto`). */
async function freshPhoto(page, h, seed) {
  return { name: `fresh-${seed}.jpg`, mimeType: 'image/jpeg', buffer: await h.distinctPhoto(page, seed) };
}

async function confirmedAndRedeemed(page, h) {
  const { reportId, ticketId } = await submit(page, h, '路灯杆倾斜 lamp post leaning', await freshPhoto(page, h, 101));
  await page.evaluate(() => { window.__sameDocument = 'yes'; });
  const before = (await h.apiGet('/v1/couriers/me', h.courierToken)).points;
  await officeResolves(h, ticketId);
  const card = await resolvedCard(page, h, reportId);
  h.check('(a) the office resolved it: the open page offers 已修好 / 没修好 without a reload');
  await card.locator('.do-fixed').click();
  await h.waitFor('the points', async () => (await h.apiGet('/v1/couriers/me', h.courierToken)).points > before, 30000);
  await h.waitFor('the points on the page', async () => Number(await page.locator('#points').textContent()) > before);
  h.check('(a) 已修好: the ticket is verified and the points are paid');
  const reward = await apiSend(h, 'POST', '/v1/rewards', h.supervisorToken, { name: '雨衣 raincoat', cost: 1, stock: 5 });
  assert.ok([200, 201].includes(reward.status), reward.text);
  await page.locator('#tabs .tab[data-tab=rewards]').click();
  const row = page.locator(`#rewards li[data-reward-id="${reward.body.reward_id}"]`);
  await row.locator('.do-redeem').click();
  await row.locator('.do-confirm').click();
  const code = await h.waitFor('the pickup code', async () => (await page.locator('#pickup-code').textContent().catch(() => '')).trim());
  const history = await h.apiGet('/v1/redemptions', h.courierToken);
  const list = Array.isArray(history) ? history : history.redemptions;
  assert.ok(list.some((x) => x.pickup_code === code), JSON.stringify(history));
  await page.locator(`#redemptions li:has-text("${code}")`).waitFor();
  h.check(`(a) a reward the supervisor created was redeemed: pickup code ${code}, in the history`);
  await h.shot(page, 'courier-phone-rewards', { copy: true });
  await page.locator('#tabs .tab[data-tab=report]').click();
}

async function notFixedReopens(page, phone, h) {
  await phone.setGeolocation({ latitude: 29.895, longitude: 114.40, accuracy: 10 });
  const { reportId, ticketId } = await submit(page, h, '井盖松动 cover loose', await freshPhoto(page, h, 202));
  await officeResolves(h, ticketId);
  const card = await resolvedCard(page, h, reportId);
  await card.locator('.verify-note').fill('还是松的 still loose');
  await card.locator('.do-not-fixed').click();
  await h.waitFor('the ticket reopened', async () => (await h.apiGet(`/v1/tickets/${ticketId}`, h.officeToken)).state === 'reopened', 30000);
  await h.waitFor('the card reopened', async () => (await page.locator(`#mine li[data-report-id="${reportId}"]`).getAttribute('class')).includes('state-reopened'));
  h.check('(b) 没修好 reopened the ticket: the office sees it reopened, the card says so');
}

async function neighbourChecks(browser, h, context) {
  assert.ok(h.secondCourierToken, 'CIVICPROBE_SECOND_COURIER_TOKEN is needed for flow (c)');
  const spot = { latitude: 29.885, longitude: 114.41, accuracy: 10 };
  const ctx = await context(browser, { ...h.PHONE, permissions: ['geolocation'], geolocation: spot });
  const first = await ctx.newPage();
  await signIn(first, h, h.courierToken);
  const { ticketId } = await submit(first, h, '护栏断了 railing broken', await freshPhoto(first, h, 303));
  await officeResolves(h, ticketId);
  await first.close();
  const other = await context(browser, { ...h.PHONE, permissions: ['geolocation'], geolocation: spot });
  const page = await other.newPage();
  await signIn(page, h, h.secondCourierToken);
  await h.waitFor('a fix', async () => (await page.locator('#gps').getAttribute('data-state')) === 'ok');
  await page.locator('#tabs .tab[data-tab=nearby]').click();
  const task = page.locator(`#nearby li[data-ticket-id="${ticketId}"]`);
  await task.waitFor({ timeout: 30000 });
  await task.locator('.verify-photo').setInputFiles(await freshPhoto(page, h, 404));
  await task.locator('.do-fixed').click();
  await task.locator('.points-earned').waitFor({ timeout: 30000 });
  assert.match(await task.locator('.points-earned').textContent(), /获得 \d+ 积分/);
  const ticket = await h.apiGet(`/v1/tickets/${ticketId}`, h.officeToken);
  assert.equal((ticket.verification || {}).verified_by, 'courier', JSON.stringify(ticket.verification));
  h.check('(c) a second courier near the spot checked the fix with a fresh photo and earned points');
  await h.shot(page, 'courier-phone-nearby', { copy: true });
  await other.close();
  await ctx.close();
}

export async function flows(browser, h, context) {
  const phone = await context(browser, { ...h.PHONE, permissions: ['geolocation'], geolocation: { latitude: 29.895, longitude: 114.30, accuracy: 10 } });
  const page = await phone.newPage();
  await signIn(page, h, h.courierToken);
  await confirmedAndRedeemed(page, h);
  await notFixedReopens(page, phone, h);
  await phone.close();
  await neighbourChecks(browser, h, context);
}
