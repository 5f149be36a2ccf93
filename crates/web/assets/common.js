// Shared helpers of the civicprobe pages: translations, DOM building
// (text only, never HTML), API calls with the CSRF header, sign-in.

const STRINGS = {
  zh: {
    app: '城市探针', lang: 'English', signout: '退出', signin: '登录', token: '令牌',
    signin_hint: '请输入管理员发给你的令牌。', bad_token: '令牌无效。', network: '网络错误，请重试。',
    courier_title: '随手拍隐患', office_title: '街道办工单台', audit_title: '督办看板',
    photo: '拍照', photo_none: '还没有照片', position: '位置', locating: '正在定位…',
    located: '已定位', no_gps: '无法定位，请选择最近的地点：', place: '最近的地点', address: '地址（可选）', address_label: '地址',
    category: '类别', any: '自动识别', text: '描述', text_ph: '例如：井盖缺失，有人差点掉下去',
    submit: '提交', sending: '正在提交…', sent: '已提交，报告编号：', queued: '没有信号，已保存，联网后自动发送。',
    need_photo: '请先拍照。', need_position: '请先定位或选择地点。',
    queue: '待发送', queue_empty: '没有待发送的报告。', failed: '被拒绝：', remove: '删除',
    mine: '我的报告', points: '积分', none: '暂无。', refresh: '刷新',
    manhole: '井盖', elevator: '电梯', electrical_box: '配电箱', other: '其他',
    open: '待受理', acknowledged: '已受理', in_progress: '处理中', resolved: '已解决', closed: '已关闭',
    reopened: '已重开', rejected: '已驳回', unrouted: '未分派', urgent: '紧急',
    left: '剩余', overdue: '超时', no_deadline: '无时限', office: '街道办', choose_office: '选择街道办',
    tickets: '工单', select_ticket: '请选择一个工单。', history: '处理记录', actions: '操作',
    acknowledge: '受理', make_safe: '已排险', resolve: '办结', reject: '驳回', note: '说明',
    reason: '驳回原因', duplicate: '重复', not_a_hazard: '不是隐患', not_our_area: '不属本辖区',
    courier_text: '上报描述', received: '收到', done: '已完成', show_closed: '显示已办结',
    new: '新', by_office: '各街道办响应时间', by_category: '各类别响应时间',
    median: '中位数', p90: '90分位', within: '按时比例', step_verify: '核查', failed_verification: '核查未通过', csv: '导出 CSV', overdue_list: '超时工单',
    unrouted_list: '未分派报告', district: '辖区地图（未办结工单）', verify: '审计日志校验',
    intact: '完整，未被篡改', broken: '校验失败！', route_to: '分派到', route: '分派',
    ranking: '街道办排名', rank: '名次', kpi_response: '响应率', kpi_resolution: '解决率', kpi_rework: '返工率', kpi_satisfaction: '满意率', monthly_report: '月报', print: '打印月报', ranking_note: '按响应率、解决率、满意率（高者在前）和返工率（低者在前）排序；括号内为比例，驳回的工单不计。', figures_disagree: '工单数据与事件记录不符：', anchor_holds: '与已签名发布的链头一致', anchor_unanchored: '未锚定（整条链被改写将无法发现）', anchor_broken: '与已签名发布的链头不符：',
    dispute_list: '有争议的驳回（不属本辖区）', disputed: '有争议', rejected_by: '驳回单位', waiting: '已等待', uphold: '维持驳回', uphold_note: '理由（例如：属于邻区）', need_note: '请写明理由。', upheld: '已维持驳回',
    wrong_role: '此页面需要其他角色的令牌。', other_pages: '其他页面', photo_missing: '照片不可用',
    duplicates: '合并的重复报告', step_ack: '受理', step_safe: '排险', step_resolve: '办结',
    needs_triage: '待人工分拣', reroute: '改派', proof_photo: '现场照片（可选）', triage_list: '待人工分拣工单',
    nearby: '位置相近', same_photo: '同一张照片',
    nav_courier: '上报', nav_office: '工单台', nav_audit: '看板',
    opened: '立案', made_safe: '已排险', merged: '合并重复报告', escalated: '已督办', rerouted: '已改派', started: '开始处理',
    triaged: '已更正分类', urgent_duplicate: '紧急的重复报告',
    points_rewards: '积分与兑换', leaderboard: '积分排行', lb_courier: '骑手', lb_reports: '报告', lb_fixed: '已修复',
    catalogue: '奖品目录', reward_name: '奖品名称', reward_cost: '所需积分', reward_stock: '库存', reward_add: '添加奖品',
    reward_added: '已添加', reward_save: '保存', saved: '已保存', reward_retire: '下架', reward_retired: '已下架', reward_active: '可兑换',
    bad_reward_name: '请填写奖品名称（1–80 个字）。', bad_reward_cost: '所需积分须为 1 到 100000 的整数。', bad_reward_stock: '库存须为 0 到 1000000 的整数。',
    redemptions: '最近兑换', pickups_waiting: '待领取', pickup_code: '取货码', collect: '确认已领取', collected: '已领取',
    verified: '已核查', report_verified: '重复报告人已核查', verification_disputed: '核查有异议',
    map_alt: '辖区地图：{areas}；标记 {n} 处。', chart_alt: '响应时间图（分钟）：',
  },
  en: {
    app: 'civicprobe', lang: '中文', signout: 'Sign out', signin: 'Sign in', token: 'Token',
    signin_hint: 'Enter the token you were given.', bad_token: 'This token is not valid.', network: 'Network error, try again.',
    courier_title: 'Report a hazard', office_title: 'Office console', audit_title: 'Supervisor dashboard',
    photo: 'Take photo', photo_none: 'No photo yet', position: 'Position', locating: 'Locating…',
    located: 'Located', no_gps: 'No position: pick the nearest place:', place: 'Nearest place', address: 'Address (optional)', address_label: 'Address',
    category: 'Category', any: 'Detect', text: 'Description', text_ph: 'e.g. manhole cover missing, someone nearly fell in',
    submit: 'Submit', sending: 'Sending…', sent: 'Sent. Report id: ', queued: 'No signal: saved, will be sent when online.',
    need_photo: 'Take a photo first.', need_position: 'Locate or pick a place first.',
    queue: 'Waiting to send', queue_empty: 'Nothing waiting.', failed: 'Refused: ', remove: 'Remove',
    mine: 'My reports', points: 'Points', none: 'None yet.', refresh: 'Refresh',
    manhole: 'Manhole', elevator: 'Elevator', electrical_box: 'Electrical box', other: 'Other',
    open: 'Open', acknowledged: 'Acknowledged', in_progress: 'In progress', resolved: 'Resolved', closed: 'Closed',
    reopened: 'Reopened', rejected: 'Rejected', unrouted: 'Unrouted', urgent: 'Urgent',
    left: 'left', overdue: 'overdue', no_deadline: 'no deadline', office: 'Office', choose_office: 'Choose an office',
    tickets: 'Tickets', select_ticket: 'Select a ticket.', history: 'History', actions: 'Actions',
    acknowledge: 'Acknowledge', make_safe: 'Made safe', resolve: 'Resolve', reject: 'Reject', note: 'Note',
    reason: 'Reason', duplicate: 'Duplicate', not_a_hazard: 'Not a hazard', not_our_area: 'Not our area',
    courier_text: "Courier's text", received: 'Received', done: 'Done', show_closed: 'Show finished',
    new: 'new', by_office: 'Response times by office', by_category: 'Response times by category',
    median: 'median', p90: 'p90', within: 'within deadline', step_verify: 'verify', failed_verification: 'failed verification', csv: 'Export CSV', overdue_list: 'Overdue tickets',
    unrouted_list: 'Unrouted reports', district: 'District map (open tickets)', verify: 'Audit log check',
    intact: 'intact, not tampered with', broken: 'CHECK FAILED!', route_to: 'Route to', route: 'Route',
    ranking: 'Office ranking', rank: 'Rank', kpi_response: 'Response', kpi_resolution: 'Resolution', kpi_rework: 'Rework', kpi_satisfaction: 'Satisfaction', monthly_report: 'Monthly report', print: 'Print report', ranking_note: 'Ranked by response, resolution and satisfaction (higher first), then rework (lower first); rejected tickets are left out.', figures_disagree: 'ticket figures disagree with their events:', anchor_holds: 'matches the signed published head', anchor_unanchored: 'unanchored (a rewrite of the whole chain would go unseen)', anchor_broken: 'does not match the signed published head:',
    dispute_list: 'Disputed rejections (not our area)', disputed: 'Disputed', rejected_by: 'Rejected by', waiting: 'waiting', uphold: 'Uphold rejection', uphold_note: 'Why (e.g. it belongs to the next district)', need_note: 'Write down why.', upheld: 'Rejection upheld',
    wrong_role: 'This page needs another role\'s token.', other_pages: 'Other pages', photo_missing: 'photo unavailable',
    duplicates: 'Merged duplicates', step_ack: 'acknowledge', step_safe: 'make safe', step_resolve: 'resolve',
    needs_triage: 'Needs triage', reroute: 'Reroute', proof_photo: 'Photo of the fix (optional)', triage_list: 'Tickets needing triage',
    nearby: 'close by', same_photo: 'same photo',
    nav_courier: 'Report', nav_office: 'Office', nav_audit: 'Audit',
    opened: 'Opened', made_safe: 'Made safe', merged: 'Duplicate merged', escalated: 'Escalated', rerouted: 'Rerouted', started: 'Started',
    triaged: 'Re-triaged', urgent_duplicate: 'urgent duplicate',
    points_rewards: 'Points and rewards', leaderboard: 'Leaderboard', lb_courier: 'Courier', lb_reports: 'Reports', lb_fixed: 'Fixed',
    catalogue: 'Rewards catalogue', reward_name: 'Reward name', reward_cost: 'Cost (points)', reward_stock: 'Stock', reward_add: 'Add reward',
    reward_added: 'Added', reward_save: 'Save', saved: 'Saved', reward_retire: 'Retire', reward_retired: 'Retired', reward_active: 'Available',
    bad_reward_name: 'Enter a reward name (1 to 80 characters).', bad_reward_cost: 'The cost must be a whole number from 1 to 100000.', bad_reward_stock: 'The stock must be a whole number from 0 to 1000000.',
    redemptions: 'Recent redemptions', pickups_waiting: 'Waiting for pickup', pickup_code: 'Pickup code', collect: 'Mark collected', collected: 'Collected',
    verified: 'Verified', report_verified: 'Checked by a duplicate reporter', verification_disputed: 'Verification disputed',
    map_alt: 'Map of {areas}; {n} marked.', chart_alt: 'Response times (minutes):',
  },
};

/** Adds a module's own translations ({ zh: {...}, en: {...} }). */
export function addStrings(extra) {
  for (const [language, strings] of Object.entries(extra)) Object.assign(STRINGS[language], strings);
}

export function lang() {
  return localStorage.getItem('cp_lang') === 'en' ? 'en' : 'zh';
}

export function t(key) {
  return STRINGS[lang()][key] ?? STRINGS.en[key] ?? key;
}

/** Fills every [data-i18n] element's text and [data-i18n-ph] placeholder. */
export function translate(root = document) {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-ph]')) node.placeholder = t(node.dataset.i18nPh);
}

/** Wires the language button; `onChange` re-renders dynamic parts. */
export function languageToggle(button, onChange) {
  button.addEventListener('click', () => {
    localStorage.setItem('cp_lang', lang() === 'zh' ? 'en' : 'zh');
    translate();
    onChange?.();
  });
}

/** An element with attributes and children; strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, same rules as `el`. */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) throw new Error('no inline handlers');
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

/** Replaces a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  build(node, {}, children);
  return node;
}

/**
 * Draws `items` into `list` as rows kept across redraws, so that what is
 * typed in them survives: `rows` maps `key(item)` to `{li, update}`,
 * `make(item)` builds a missing one, `update(item)` redraws its text. An
 * empty list says so.
 */
export function keptRows(list, rows, items, key, make) {
  const keep = new Set(items.map(key));
  for (const [k, row] of rows) if (!keep.has(k)) { row.li.remove(); rows.delete(k); }
  for (const node of list.querySelectorAll('li.muted')) node.remove();
  if (!items.length) { list.append(el('li', { class: 'muted' }, t('none'))); return; }
  items.forEach((item, i) => {
    let row = rows.get(key(item));
    if (!row) { row = make(item); rows.set(key(item), row); }
    row.update(item);
    // Moving a row that is already in place would take the focus from it.
    if (list.children[i] !== row.li) list.insertBefore(row.li, list.children[i] || null);
  });
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)cp_csrf=([^;]+)/);
  return m ? m[1] : '';
}

/**
 * Calls the API. Resolves to {ok, status, data}; rejects only when the
 * network fails. Changing calls carry the CSRF header.
 */
export async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { ...headers } };
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-CSRF-Token'] = csrfToken();
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  return { ok: response.ok, status: response.status, data };
}

/** The signed-in principal ({role, …}) or null. */
export async function whoami() {
  try {
    const r = await api('/session');
    if (r.ok) localStorage.setItem('cp_role', r.data.role);
    else localStorage.removeItem('cp_role');
    return r.ok ? r.data : null;
  } catch {
    // No signal: the page still opens for the role last seen here (the
    // API checks every call anyway).
    const role = localStorage.getItem('cp_role');
    return role ? { role, offline: true } : null;
  }
}

/** Shows the sign-in form in `box`; reloads the page once signed in. */
export function signInForm(box, message) {
  const input = el('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password', required: true });
  const status = el('p', { class: 'status', role: 'status' }, message || '');
  const form = el('form', { class: 'card signin', id: 'signin' },
    el('h2', {}, t('signin')), el('p', {}, t('signin_hint')),
    el('label', { for: 'token' }, t('token')), input,
    el('button', { type: 'submit', class: 'primary' }, t('signin')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api('/session', { method: 'POST', json: { token: input.value.trim() } });
      if (r.ok) location.reload();
      else status.textContent = t('bad_token');
    } catch {
      status.textContent = t('network');
    }
  });
  fill(box, form);
  box.hidden = false;
}

/** Wires a sign-out button. */
export function signOutButton(button) {
  button.addEventListener('click', async () => {
    await api('/session/logout', { method: 'POST' }).catch(() => null);
    localStorage.removeItem('cp_role');
    location.reload();
  });
}

/** `1 h 05 min` / `1小时05分`, from milliseconds (absolute value). */
export function duration(ms) {
  const min = Math.round(Math.abs(ms) / 60000);
  const h = Math.floor(min / 60), m = min % 60;
  const d = Math.floor(h / 24);
  if (lang() === 'zh') {
    if (d >= 2) return `${d}天${h % 24}小时`;
    return h > 0 ? `${h}小时${String(m).padStart(2, '0')}分` : `${m}分钟`;
  }
  if (d >= 2) return `${d} d ${h % 24} h`;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
}

/** A local date-time for people. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
}

/** The deadline an office must meet next, `{step, at}`, or null. */
export function nextDeadline(ticket) {
  const d = ticket.deadlines || {};
  if (!['open', 'acknowledged', 'in_progress', 'reopened'].includes(ticket.state)) return null;
  const steps = [
    ['step_ack', d.acknowledge_by, ticket.acknowledged_at],
    ['step_safe', d.make_safe_by, ticket.made_safe_at],
    ['step_resolve', d.resolve_by, ticket.resolved_at && ticket.state !== 'reopened' ? ticket.resolved_at : null],
  ];
  for (const [step, at, doneAt] of steps) if (at && !doneAt) return { step, at: new Date(at).getTime() };
  return null;
}

/** "time left" or "overdue" text and class for a ticket. */
export function timeLeft(ticket, now = Date.now()) {
  const next = nextDeadline(ticket);
  if (!next) return { text: t(ticket.state), cls: 'done' };
  const ms = next.at - now;
  const step = t(next.step);
  if (ms < 0) return { text: `${t('overdue')} ${duration(ms)} (${step})`, cls: 'overdue', ms };
  return { text: `${step}: ${t('left')} ${duration(ms)}`, cls: ms < 3600000 ? 'soon' : 'ok', ms };
}

/** Every few seconds while the page is visible. */
export function every(ms, fn) {
  fn();
  return setInterval(() => { if (!document.hidden) fn(); }, ms);
}
