// The supervisor dashboard's points and rewards: the courier leaderboard
// (GET /v1/audit/couriers), the rewards catalogue with add, edit cost and
// stock, and retire (/v1/rewards), and the recent redemptions with their
// pickup codes and a "collected" button (/v1/redemptions). Catalogue rows
// are kept across refreshes (keyed by reward id) so that a number being
// typed survives them; only their text is redrawn. Everything shown is
// text (common.js's el), never HTML.

import { el, fill, t, api, when, lang, keptRows } from './common.js';

/** Catalogue rows on screen, by reward id. */
const rows = new Map();
/** The language the kept rows and the form were drawn in. */
let drawnIn = null;

/** What went wrong with an API reply, in the page's language when the field is known. */
function problem(r) {
  const field = r && r.data && r.data.field;
  if (['name', 'cost', 'stock'].includes(field)) return t(`bad_reward_${field}`);
  return (r && r.data && (r.data.detail || r.data.title)) || t('network');
}

/** A labelled number input. */
function numberInput(cls, label, value, max) {
  const input = el('input', { type: 'number', class: cls, min: cls.includes('cost') ? 1 : 0, max, step: 1, inputmode: 'numeric', value });
  return [el('label', { class: 'inline' }, label, ' ', input), input];
}

/** The leaderboard as a table, most points first. */
function leaderboard(couriers) {
  if (!couriers.length) return el('p', { class: 'muted' }, t('none'));
  const head = el('tr', {}, ['#', t('lb_courier'), t('points'), t('lb_reports'), t('lb_fixed')]
    .map((h, i) => el('th', { scope: 'col', class: i > 1 ? 'num' : null }, h)));
  const body = couriers.map((c, i) => el('tr', { 'data-courier-id': c.courier_id },
    el('td', {}, String(i + 1)), el('td', {}, c.name || c.courier_id.slice(0, 8)),
    el('td', { class: 'num' }, String(c.points)), el('td', { class: 'num' }, String(c.reports)), el('td', { class: 'num' }, String(c.fixed))));
  return el('div', { class: 'table-wrap' }, el('table', { class: 'table' }, el('thead', {}, head), el('tbody', {}, body)));
}

/** The edit controls of one reward: cost, stock, save, retire. */
function rewardControls(reward, after) {
  const [costLabel, cost] = numberInput('reward-cost', t('reward_cost'), reward.cost, 100000);
  const [stockLabel, stock] = numberInput('reward-stock', t('reward_stock'), reward.stock, 1000000);
  const save = el('button', { type: 'button', class: 'ghost reward-save' }, t('reward_save'));
  const retire = el('button', { type: 'button', class: 'danger reward-retire' }, t('reward_retire'));
  const status = el('span', { class: 'status', role: 'status' });
  const path = `/v1/rewards/${encodeURIComponent(reward.reward_id)}`;
  save.addEventListener('click', async () => {
    const json = { cost: Number(cost.value), stock: Number(stock.value) };
    const r = await api(path, { method: 'PATCH', json }).catch(() => null);
    status.textContent = r && r.ok ? t('saved') : problem(r);
    if (r && r.ok) after();
  });
  retire.addEventListener('click', async () => {
    const r = await api(`${path}/retire`, { method: 'POST' }).catch(() => null);
    status.textContent = r && r.ok ? t('reward_retired') : problem(r);
    if (r && r.ok) after();
  });
  return { node: el('div', { class: 'reward-controls' }, costLabel, ' ', stockLabel, ' ', save, ' ', retire, ' ', status), cost, stock, retire };
}

/** A new catalogue row: its text, then its controls (kept while it lives). */
function newRewardRow(reward, after) {
  const info = el('div', { class: 'info' });
  const controls = rewardControls(reward, after);
  const li = el('li', { class: 'row', 'data-reward-id': reward.reward_id }, info, controls.node);
  const update = (next) => {
    li.dataset.retired = String(next.retired);
    li.classList.toggle('retired', next.retired);
    controls.retire.hidden = next.retired;
    fill(info, el('strong', { class: 'reward-name' }, next.name), ' ',
      el('span', { class: `pill ${next.retired ? 'rejected' : 'resolved'}` }, t(next.retired ? 'reward_retired' : 'reward_active')), ' ',
      el('span', { class: 'muted' }, `${next.cost} ${t('points')} · ${t('reward_stock')} ${next.stock}`));
  };
  return { li, update };
}

/** One redemption: what, who, the pickup code, and collected or a button. */
function redemptionRow(x, after) {
  const done = x.collected_at
    ? el('span', { class: 'pill resolved collected' }, `${t('collected')} ${when(x.collected_at)}`)
    : el('button', { type: 'button', class: 'ghost collect' }, t('collect'));
  const status = el('span', { class: 'status', role: 'status' });
  if (!x.collected_at) {
    done.addEventListener('click', async () => {
      const r = await api(`/v1/redemptions/${encodeURIComponent(x.redemption_id)}/collect`, { method: 'POST' }).catch(() => null);
      status.textContent = r && r.ok ? t('collected') : problem(r);
      after();
    });
  }
  return el('li', { class: 'row', 'data-redemption-id': x.redemption_id },
    el('strong', {}, x.reward_name), ' ', el('span', { class: 'muted' }, `${x.cost} ${t('points')} · ${x.courier_name || (x.courier_id || '').slice(0, 8)} · ${when(x.at)}`),
    el('div', {}, `${t('pickup_code')} `, el('code', { class: 'pickup-code' }, x.pickup_code), ' ', done, ' ', status));
}

/** A new form that adds a reward, into `box`. */
function rewardForm(box, after) {
  const form = el('form', { id: 'reward-form', class: 'reward-form' });
  const name = el('input', { type: 'text', id: 'reward-name', maxlength: 80, required: true });
  const [costLabel, cost] = numberInput('reward-cost', t('reward_cost'), 10, 100000);
  const [stockLabel, stock] = numberInput('reward-stock', t('reward_stock'), 10, 1000000);
  const status = el('p', { class: 'status', role: 'status' });
  fill(form, el('label', { for: 'reward-name' }, t('reward_name')), name, costLabel, ' ', stockLabel, ' ',
    el('button', { type: 'submit', class: 'primary', id: 'reward-add' }, t('reward_add')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) { status.textContent = t('bad_reward_name'); return; }
    const json = { name: name.value, cost: Number(cost.value), stock: Number(stock.value) };
    const r = await api('/v1/rewards', { method: 'POST', json }).catch(() => null);
    status.textContent = r && r.ok ? `${t('reward_added')}: ${r.data.name}` : problem(r);
    if (r && r.ok) { name.value = ''; after(); }
  });
  fill(box, form);
}

/** Loads and draws the leaderboard, the catalogue and the redemptions. */
export async function loadRewards(boxes, after) {
  if (drawnIn !== lang()) {
    // Kept rows and the form hold labels: drawn anew in another language.
    drawnIn = lang();
    rows.clear();
    fill(boxes.catalogue);
    rewardForm(boxes.form, after);
  }
  const get = (path) => api(path).then((r) => (r.ok ? r.data : null)).catch(() => null);
  const [board, catalogue, redeemed] = await Promise.all([get('/v1/audit/couriers'), get('/v1/rewards'), get('/v1/redemptions?limit=50')]);
  if (board) fill(boxes.leaderboard, leaderboard(board.couriers || []));
  if (catalogue) keptRows(boxes.catalogue, rows, catalogue.rewards || [], (r) => r.reward_id, (r) => newRewardRow(r, after));
  if (redeemed) {
    const list = redeemed.redemptions || [];
    boxes.count.textContent = String(list.filter((x) => !x.collected_at).length);
    boxes.count.title = t('pickups_waiting');
    fill(boxes.redemptions, list.length ? list.map((x) => redemptionRow(x, after)) : el('li', { class: 'muted' }, t('none')));
  }
}
