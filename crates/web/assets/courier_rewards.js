// "积分兑换 / Rewards": the balance, the catalogue (`GET /v1/rewards`), a
// redemption after a confirmation (`POST /v1/rewards/{id}/redeem`, with an
// Idempotency-Key so a double tap redeems once), the pickup code shown big,
// and the courier's own history (`GET /v1/redemptions`). Refusals are said
// in words: the problem's title or detail, localised where known.

import { el, fill, t, api, when, addStrings } from './common.js';
import { newKey } from './queue.js';

addStrings({
  zh: {
    rewards_title: '积分兑换', balance: '余额', redemptions: '兑换记录', redeem: '兑换', cost: '{n} 积分',
    stock: '剩余 {n} 件', out_of_stock: '已兑完', confirm_redeem: '用 {cost} 积分兑换「{name}」？', confirm_yes: '确认兑换', cancel: '取消',
    pickup_code: '取货码', pickup_hint: '凭此码到服务站领取', redeemed: '兑换成功', no_rewards: '暂无可兑换的奖品。',
    no_redemptions: '还没有兑换记录。', insufficient_points: '积分不足。', 'out-of-stock': '这件奖品已经兑完了。',
    'insufficient-points': '积分不足。', not_found: '没有找到。', forbidden: '没有权限。', unavailable: '服务暂时不可用，请稍后再试。',
  },
  en: {
    rewards_title: 'Rewards', balance: 'Balance', redemptions: 'Redemptions', redeem: 'Redeem', cost: '{n} points',
    stock: '{n} left', out_of_stock: 'Out of stock', confirm_redeem: 'Redeem "{name}" for {cost} points?', confirm_yes: 'Confirm', cancel: 'Cancel',
    pickup_code: 'Pickup code', pickup_hint: 'Show this code at the rest station', redeemed: 'Redeemed', no_rewards: 'No rewards to redeem yet.',
    no_redemptions: 'No redemptions yet.', insufficient_points: 'Not enough points.', 'out-of-stock': 'This reward is out of stock.',
    'insufficient-points': 'Not enough points.', not_found: 'Not found.', forbidden: 'Not allowed.', unavailable: 'The service is unavailable, try again later.',
  },
});

const $ = (id) => document.getElementById(id);
const state = { catalogue: null, history: [], confirming: null, key: null, last: null };

/** A problem answer in words: a known problem type localised, else its detail or title. */
export function problemWords(reply) {
  const p = reply.data || {};
  const type = String(p.type || '').split('/').pop();
  const known = { 403: 'forbidden', 404: 'not_found', 503: 'unavailable' }[reply.status];
  const localised = t(type);
  if (type && localised !== type) return localised;
  if (known) return t(known);
  return p.detail || p.title || `HTTP ${reply.status}`;
}

/** Loads the catalogue and the history, then draws the tab. */
export async function show() {
  const [catalogue, history] = await Promise.all([
    api('/v1/rewards').catch(() => null), api('/v1/redemptions').catch(() => null)]);
  if (catalogue && catalogue.ok) state.catalogue = catalogue.data;
  else say(catalogue ? problemWords(catalogue) : t('network'), 'warn');
  if (history && history.ok) state.history = Array.isArray(history.data) ? history.data : history.data.redemptions || [];
  render();
}

function say(text, cls = 'status') {
  const box = $('rewards-status');
  box.className = cls;
  box.textContent = text;
}

/** Draws balance, catalogue, pickup code and history from what was loaded. */
export function render() {
  const c = state.catalogue;
  if (!c) return;
  $('balance').textContent = String(c.balance ?? 0);
  const offered = (c.rewards || []).filter((r) => !r.retired);
  fill($('rewards'), offered.length ? offered.map(rewardRow) : el('li', { class: 'muted' }, t('no_rewards')));
  fill($('redemptions'), state.history.length ? state.history.map(historyRow) : el('li', { class: 'muted' }, t('no_redemptions')));
  showPickup();
}

function rewardRow(reward) {
  const li = el('li', { class: 'reward', 'data-reward-id': reward.reward_id },
    el('strong', { class: 'user-text' }, reward.name), ' ',
    el('span', { class: 'badge' }, t('cost').replace('{n}', String(reward.cost))), ' ',
    el('span', { class: 'muted' }, reward.stock > 0 ? t('stock').replace('{n}', String(reward.stock)) : t('out_of_stock')));
  if (state.confirming === reward.reward_id) {
    li.append(el('p', { class: 'confirm' }, t('confirm_redeem').replace('{cost}', String(reward.cost)).replace('{name}', reward.name)));
    const yes = el('button', { type: 'button', class: 'primary do-confirm' }, t('confirm_yes'));
    const no = el('button', { type: 'button', class: 'ghost' }, t('cancel'));
    yes.addEventListener('click', () => redeem(reward, yes));
    no.addEventListener('click', () => { state.confirming = null; render(); });
    li.append(el('div', { class: 'buttons' }, yes, no));
  } else {
    const button = el('button', { type: 'button', class: 'do-redeem', disabled: reward.stock <= 0 }, t('redeem'));
    button.addEventListener('click', () => { state.confirming = reward.reward_id; state.key = newKey(); render(); });
    li.append(' ', button);
  }
  return li;
}

async function redeem(reward, button) {
  button.disabled = true;
  // One key per confirmation: a retry of the same tap redeems once.
  const r = await api(`/v1/rewards/${reward.reward_id}/redeem`, { method: 'POST', json: {}, headers: { 'Idempotency-Key': state.key } })
    .catch(() => null);
  state.confirming = null;
  if (!r) { say(t('network'), 'warn'); return render(); }
  if (!r.ok) { say(problemWords(r), 'warn'); return show(); }
  state.last = r.data;
  say(t('redeemed'), 'ok');
  await show();
}

function showPickup() {
  const box = $('pickup'), last = state.last;
  box.hidden = !last;
  if (!last) return;
  fill(box, el('p', {}, `${t('redeemed')}: `, el('span', { class: 'user-text' }, last.reward_name)),
    el('p', { class: 'muted' }, t('pickup_code')),
    el('p', { class: 'code', id: 'pickup-code' }, last.pickup_code),
    el('p', { class: 'muted' }, t('pickup_hint')));
}

function historyRow(x) {
  return el('li', { 'data-redemption-id': x.redemption_id || '' },
    el('strong', { class: 'user-text' }, x.reward_name || ''), ' ',
    el('span', { class: 'badge' }, `-${x.cost}`), ' ',
    el('span', { class: 'mono' }, x.pickup_code || ''), ' ',
    el('span', { class: 'muted' }, when(x.at)));
}
