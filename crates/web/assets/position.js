// Where the courier is, while the page is open: the phone's position is
// followed (watchPosition), so a report made a kilometre later carries the
// new spot; the page shows its accuracy, the area it lies in (a place
// name, not coordinates), and says so when the fix is old or was denied.

import { t, addStrings } from './common.js';
import { jurisdictions, contains, officeName } from './map.js';

addStrings({
  zh: {
    gps_in: '位于', gps_outside: '不在任何街道范围内', gps_coords: '坐标', gps_stale: '位置已过时（{s} 秒前），正在重新定位…',
    gps_denied: '未允许定位：请在浏览器设置中允许，或选择最近的地点。', gps_unavailable: '暂时无法定位，请选择最近的地点：',
    photo_position: '将使用照片中的位置', photo_position_none: '照片中没有位置信息',
  },
  en: {
    gps_in: 'in', gps_outside: 'outside every area', gps_coords: 'coordinates', gps_stale: 'Position is old ({s} s ago), locating again…',
    gps_denied: 'Location not allowed: allow it in the browser settings, or pick the nearest place.', gps_unavailable: 'No position right now: pick the nearest place:',
    photo_position: "The photo's position will be used", photo_position_none: 'The photo has no position',
  },
});

/** A fix older than this is shown as stale (the rider has moved on). */
const STALE_MS = 60000;

/**
 * Follows the position into `box` (a status paragraph); `onLost()` when
 * there is no fix to be had (denied, unavailable). Returns
 * `{latest(), render()}`: the newest fix `{lat, lon, accuracy, at}` or
 * null, and a re-render (after a language change).
 */
export function watchPosition(box, onLost) {
  const s = { fix: null, error: null, areas: [] };
  const render = () => show(box, s);
  jurisdictions().then((j) => { s.areas = j.features || []; render(); });
  if (!navigator.geolocation) {
    s.error = 'unavailable';
    render();
    onLost?.();
    return { latest: () => null, render };
  }
  navigator.geolocation.watchPosition((p) => {
    s.fix = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, at: Date.now() };
    s.error = null;
    render();
  }, (e) => {
    s.error = e.code === 1 ? 'denied' : 'unavailable';
    render();
    if (!s.fix) onLost?.();
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 });
  setInterval(render, 5000);
  return { latest: () => s.fix, render };
}

/** The name of the area holding the fix, or null. */
function areaName(areas, fix) {
  const area = areas.find((f) => contains(f, [fix.lon, fix.lat]));
  return area ? officeName(area) : null;
}

function show(box, s) {
  box.removeAttribute('data-i18n');
  const fix = s.fix;
  if (!fix) {
    box.className = s.error ? 'warn' : 'muted';
    box.dataset.state = s.error || 'locating';
    box.textContent = t(s.error === 'denied' ? 'gps_denied' : s.error ? 'gps_unavailable' : 'locating');
    return;
  }
  const age = Date.now() - fix.at;
  const accuracy = `±${Math.round(fix.accuracy)} m`;
  box.dataset.accuracy = String(Math.round(fix.accuracy));
  if (age > STALE_MS) {
    box.className = 'soon';
    box.dataset.state = 'stale';
    box.textContent = t('gps_stale').replace('{s}', String(Math.round(age / 1000)));
    return;
  }
  box.className = 'ok';
  box.dataset.state = 'ok';
  const name = areaName(s.areas, fix);
  // A place name where one exists; coordinates only outside every area, labelled.
  const where = name ? `${t('gps_in')} ${name}`
    : `${t('gps_outside')} (${t('gps_coords')} ${fix.lat.toFixed(4)}, ${fix.lon.toFixed(4)})`;
  box.textContent = `${t('located')} · ${where} · ${accuracy}`;
}
