// The supervisor dashboard's points and rewards, in headless Chromium: the
// leaderboard, adding a reward (a name with markup shown as text), editing
// its stock, a courier's redemption appearing with its pickup code and
// marked collected, retiring it, the section in English, and the phone
// layout. Called by run.mjs with its helpers.

import assert from 'node:assert/strict';

/**
 * `t`: run.mjs's tools: { base, courierToken, supervisorToken, check,
 * waitFor, apiGet, shot, PHONE, DESKTOP }. `audit`: the signed-in
 * supervisor dashboard.
 */
export async function rewardsOnTheDashboard(t, audit) {
  const { base, courierToken, supervisorToken, check, waitFor, apiGet } = t;
  await audit.setViewportSize(t.DESKTOP.viewport);
  const section = audit.locator('#points-rewards');
  await section.waitFor();
  await section.locator('#leaderboard tr[data-courier-id]').first().waitFor({ timeout: 30000 });
  assert.match(await section.locator('#leaderboard').textContent(), /Li Wei/);
  check('the dashboard shows the courier leaderboard');

  const name = '保温杯 <b>thermos</b> & "cup"';
  await section.locator('#reward-name').fill(name);
  await section.locator('#reward-form .reward-cost').fill('1');
  await section.locator('#reward-form .reward-stock').fill('3');
  await section.locator('#reward-add').click();
  const reward = await waitFor('the new reward in the catalogue', async () =>
    (await apiGet('/v1/rewards', supervisorToken)).rewards.find((r) => r.name === name));
  assert.equal(reward.cost, 1);
  assert.equal(reward.stock, 3);
  const row = section.locator(`#rewards li[data-reward-id="${reward.reward_id}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('.reward-name').textContent(), name);
  assert.equal(await section.locator('#rewards b').count(), 0);
  check('a supervisor added a reward on the dashboard and sees it listed (its markup shown as text)');

  await row.locator('.reward-stock').fill('7');
  await row.locator('.reward-save').click();
  await waitFor('the stock to change', async () =>
    (await apiGet('/v1/rewards', supervisorToken)).rewards.find((r) => r.reward_id === reward.reward_id).stock === 7);
  await waitFor('the row to show it', async () => /库存 7/.test(await row.locator('.info').textContent()));
  check('a supervisor changed the reward\'s stock on the dashboard');

  // The courier's points come from the main flow's fixed ticket, paid when
  // it is verified (核查): the reporter confirms it here, through the API.
  const me = await apiGet('/v1/couriers/me', courierToken);
  const fixed = me.reports.filter((r) => r.state === 'resolved' && r.verification && r.verification.can_verify);
  assert.ok(fixed.length, `no resolved report to verify: ${JSON.stringify(me.reports.map((r) => r.state))}`);
  for (const r of fixed) {
    const reply = await fetch(`${base}/v1/tickets/${r.ticket_id}/verify`, {
      method: 'POST', body: JSON.stringify({ fixed: true }),
      headers: { Authorization: `Bearer ${courierToken}`, 'Content-Type': 'application/json' },
    });
    // 409: the same ticket, verified through an earlier report of this courier.
    assert.ok([200, 409].includes(reply.status), `verify: ${reply.status} ${await reply.text()}`);
  }
  const { balance } = await apiGet('/v1/rewards', courierToken);
  assert.ok(balance >= reward.cost, `the courier has ${balance} points, the reward costs ${reward.cost}: no fixed ticket paid them`);
  const redeemed = await redeem(base, courierToken, reward.reward_id);
  const pickup = section.locator(`#redemptions li[data-redemption-id="${redeemed.redemption_id}"]`);
  await pickup.waitFor({ timeout: 30000 });
  assert.equal(await pickup.locator('.pickup-code').textContent(), redeemed.pickup_code);
  await t.shot(audit, 'audit-desktop-rewards', { copy: true });
  await pickup.locator('button.collect').click();
  await waitFor('the pickup to be collected', async () =>
    (await apiGet('/v1/redemptions', supervisorToken)).redemptions.find((x) => x.redemption_id === redeemed.redemption_id).collected_at);
  await section.locator(`#redemptions li[data-redemption-id="${redeemed.redemption_id}"] .collected`).waitFor();
  check('a courier\'s redemption shows on the dashboard with its pickup code, and the supervisor marked it collected');

  await row.locator('.reward-retire').click();
  await waitFor('the reward to retire', async () => (await row.getAttribute('data-retired')) === 'true');
  const mine = await apiGet('/v1/rewards', courierToken);
  assert.ok(!mine.rewards.some((r) => r.reward_id === reward.reward_id), 'a retired reward is still offered');
  check('a supervisor retired the reward on the dashboard; couriers no longer see it');

  await english(audit, section, waitFor);
  check('the points and rewards section is complete in English');

  await audit.setViewportSize(t.PHONE.viewport);
  await waitFor('the phone layout', async () => audit.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
  await t.shot(audit, 'audit-phone-rewards');
  check('the points and rewards section fits a phone screen');
  await audit.setViewportSize(t.DESKTOP.viewport);
}

/** The courier redeems through the API (their page is another engineer's). */
async function redeem(base, token, rewardId) {
  const r = await fetch(`${base}/v1/rewards/${rewardId}/redeem`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': `browser-${rewardId}` },
  });
  const body = await r.text();
  assert.equal(r.status, 201, `redeem: ${body}`);
  return JSON.parse(body);
}

/** Switches to English: no Chinese left in the section's own words. */
async function english(audit, section, waitFor) {
  await audit.locator('#lang').click();
  await waitFor('English headings', async () => (await section.locator('h2').textContent()) === 'Points and rewards');
  await waitFor('the rows drawn in English', async () => /Stock/.test(await section.locator('#rewards').textContent()));
  const words = await section.evaluate((node) => {
    const clone = node.cloneNode(true);
    // Data (reward and courier names) may be Chinese; the page's own words may not.
    for (const data of clone.querySelectorAll('.reward-name, #redemptions strong, #leaderboard td:nth-child(2)')) data.remove();
    for (const input of clone.querySelectorAll('input')) input.remove();
    return clone.textContent;
  });
  assert.doesNotMatch(words, /[\u4e00-\u9fff]/, words);
  await audit.locator('#lang').click();
  await waitFor('Chinese again', async () => (await section.locator('h2').textContent()) === '积分与兑换');
}
