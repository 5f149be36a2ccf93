// 导航: the office ticket page's links that open the hazard's position in
// Amap, Baidu Maps, Tencent Maps (each in its own datum, converted by the
// tracker: `navigation` of GET /v1/tickets/{id}) or any map app (geo:).

import { el, lang } from './common.js';

const NAMES = {
  zh: { title: '导航', amap: '高德地图', baidu: '百度地图', tencent: '腾讯地图', geo: '其他地图应用' },
  en: { title: 'Navigate', amap: 'Amap', baidu: 'Baidu Maps', tencent: 'Tencent Maps', geo: 'other map app' },
};

/** Only the schemes the tracker makes: nothing else becomes a link. */
function safe(url) {
  return typeof url === 'string' && (url.startsWith('https://') || url.startsWith('geo:'));
}

/** The 导航 block for `ticket`, or nothing when it carries no links. */
export function navigation(ticket) {
  const names = NAMES[lang()] || NAMES.en;
  const links = (ticket.navigation || []).filter((l) => safe(l.url));
  if (!links.length) return null;
  return el('nav', { class: 'navigate', id: 'navigate', 'aria-label': names.title },
    el('h3', {}, names.title),
    el('ul', {}, links.map((l) => el('li', {},
      el('a', { href: l.url, target: '_blank', rel: 'noopener noreferrer', 'data-map': l.map, 'data-datum': l.datum },
        names[l.map] || l.map)))));
}
