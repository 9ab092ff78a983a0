/*
 * ui_flow.js - the web UI in a real browser: headless Debian chromium
 * driven by puppeteer-core, accessibility checked with axe-core.
 *
 * Run by test_ui.py, which starts chanregd with the example contracts and
 * passes (environment):
 *   CHANREG_URL      the daemon, e.g. http://127.0.0.1:41234
 *   ADMIN_TOKEN, ORDERS_TOKEN, BILLING_TOKEN  tokens of admin, owner:orders, owner:billing
 *   SCRIPT_CHANNEL   name of a channel to create with a <script> element as description
 *   CHROMIUM         the browser binary
 *   ARTEFACTS        where the screenshots go (one per page and step)
 *   NODE_PATH        the npm packages (installed into the build tree)
 *
 * Flow: catalog (search) -> channel -> schema diff; a <script> description
 * shows as text; sign in; register a consumer with errors, then correctly
 * (pending); the owner approves it; renew; remove; another registration
 * rejected with a reason; the audit log.  After each
 * step the REST API must show the change.  Every wait is bounded; the first
 * failed check ends the run with exit status 1.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');
const axe = require('axe-core');

const URL_ = process.env.CHANREG_URL;
const ART = process.env.ARTEFACTS;
const WAIT_MS = 20000;
const CHANNEL = 'orders.order-created';
const CONSUMER = 'invoicing';

let step = 'start';
const problems = [];

const t0 = Date.now();

/* Progress on stdout (a hang shows where it stopped); never asserted on. */
function progress(name) {
  step = name;
  console.log('[' + ((Date.now() - t0) / 1000).toFixed(1) + 's] ' + name);
}

function check(ok, what) {
  if (!ok)
    throw new Error(step + ': ' + what);
}

async function rest(method, p, token, body) {
  const headers = {Accept: 'application/json'};
  if (token)
    headers.Authorization = 'Bearer ' + token;
  if (body !== undefined)
    headers['Content-Type'] = 'application/json';
  const r = await fetch(URL_ + p, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const t = await r.text();
  let json = null;
  try { json = t ? JSON.parse(t) : null; } catch (e) { json = t; }
  return {status: r.status, headers: r.headers, json};
}

/* Poll fn until it returns a truthy value, at most WAIT_MS. */
/* Clicks an action of the portal's lists and waits until the lists it reloads
 * are shown again, so that the next step does not hold a replaced element. */
async function clickAndReload(page, selector) {
  const before = await page.$eval('#my-consumers', (box) => Number(box.getAttribute('data-loads') || 0));
  await page.click(selector);
  await page.waitForFunction((n) => {
    const box = document.querySelector('#my-consumers');
    return box && box.getAttribute('aria-busy') === 'false' && Number(box.getAttribute('data-loads')) > n;
  }, {timeout: WAIT_MS}, before);
}

async function until(fn, what) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const v = await fn();
    if (v)
      return v;
    if (Date.now() > end)
      throw new Error(step + ': timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function consumer(name) {
  const r = await rest('GET', '/v1/channels/' + CHANNEL, process.env.ADMIN_TOKEN);
  return (r.json.consumers || []).find((c) => c.name === name) || null;
}

async function shot(page, name) {
  await page.screenshot({path: path.join(ART, name + '.png'), fullPage: true});
}

async function a11y(page, name) {
  await page.evaluate(axe.source);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, {resultTypes: ['violations']});
    return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                     nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
  });
  fs.writeFileSync(path.join(ART, name + '.axe.json'), JSON.stringify(res, null, 2));
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, 'accessibility violations on ' + name + ': ' + JSON.stringify(bad));
}

async function go(page, hash, selector) {
  await page.goto(URL_ + '/ui/' + hash, {waitUntil: 'load', timeout: WAIT_MS});
  await page.waitForSelector(selector, {timeout: WAIT_MS});
}

async function textOf(page, selector) {
  return page.$eval(selector, (e) => e.textContent);
}

async function signIn(page, token) {
  if (await page.$('#sign-out')) {
    await page.click('#sign-out');
    await page.waitForSelector('#token-input', {timeout: WAIT_MS});
  }
  await page.type('#token-input', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#sign-out', {timeout: WAIT_MS});
}

async function fill(page, values) {
  for (const [name, value] of Object.entries(values)) {
    const sel = '#f-' + name;
    const tag = await page.$eval(sel, (e) => e.tagName);
    if (tag === 'SELECT') {
      await page.select(sel, value);
    } else {
      await page.$eval(sel, (e) => { e.value = ''; });
      if (value !== '')
        await page.type(sel, value);
    }
  }
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chanreg-ui-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-extensions', '--window-size=1400,900'],
    timeout: WAIT_MS,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1400, height: 900});
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      /* CSP violations and script errors are reported on the console. */
      if (m.type() === 'error' && !/the server responded with a status of (4|5)\d\d/.test(m.text()))
        problems.push('console error: ' + m.text());
    });

    progress('headers');
    let r = await rest('GET', '/ui/', null);
    check(r.status === 200, 'GET /ui/ is ' + r.status);
    const csp = r.headers.get('content-security-policy') || '';
    check(/default-src 'self'/.test(csp) && /frame-ancestors 'none'/.test(csp) && !/unsafe-inline/.test(csp),
          'CSP header: ' + csp);
    check(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff header');
    const etag = r.headers.get('etag');
    check(!!etag, 'ETag header');
    const r304 = await fetch(URL_ + '/ui/', {headers: {'If-None-Match': etag}});
    check(r304.status === 304, 'If-None-Match gives ' + r304.status);
    const js = await fetch(URL_ + '/ui/app.js');
    check(js.headers.get('content-type').startsWith('text/javascript'), 'app.js content type');

    progress('catalog');
    await go(page, '#/', '#catalog-count');
    const rows = await page.$$eval('#catalog-results tbody tr', (trs) => trs.map((t) => t.textContent));
    const listed = (await rest('GET', '/v1/channels', process.env.ADMIN_TOKEN)).json.channels.map((c) => c.name);
    for (const name of listed)
      check(rows.some((t) => t.includes(name)), 'catalog lists ' + name);
    check(rows.some((t) => t.includes('orders-oncall@example.com')), 'catalog shows maintainers');
    await shot(page, 'catalog');
    if (process.env.README_SHOT)
      await page.screenshot({path: process.env.README_SHOT, clip: {x: 0, y: 0, width: 1400, height: 520}});
    await a11y(page, 'catalog');

    progress('catalog search');
    await page.type('#catalog-filters input[name=q]', 'orders');
    await Promise.all([page.waitForFunction(() => location.hash.includes('q=orders'), {timeout: WAIT_MS}),
                       page.click('#catalog-filters button[type=submit]')]);
    await page.waitForSelector('#catalog-count', {timeout: WAIT_MS});
    const found = await page.$$eval('#catalog-results tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    check(found.length >= 1 && found.every((n) => n.includes('orders')), 'search result ' + JSON.stringify(found));

    progress('channel page');
    await Promise.all([page.waitForSelector('#h-consumers', {timeout: WAIT_MS}),
                       page.click('#catalog-results a[href="#/channel/' + CHANNEL + '"]')]);
    await page.waitForSelector('#diff-form', {timeout: WAIT_MS});
    check((await textOf(page, 'h1')).includes(CHANNEL), 'channel heading');
    check((await textOf(page, 'main')).includes('billing.order-created'), 'consumers shown');
    await page.waitForSelector('#h-health ~ table tbody tr td code', {timeout: WAIT_MS});
    check((await textOf(page, 'main')).includes('channel_schema_compatibility_rate'), 'health metrics shown');

    progress('schema diff');
    await page.select('#diff-from', '1');
    await page.select('#diff-to', '3');
    await page.click('#diff-compare');
    await page.waitForSelector('#diff-verdict', {timeout: WAIT_MS});
    const verdict = await textOf(page, '#diff-verdict');
    const api = (await rest('GET', '/v1/channels/' + CHANNEL + '/schema-diff?from=1&to=3', process.env.ADMIN_TOKEN)).json;
    check(verdict.includes(api.compatible ? 'compatible' : 'incompatible') && verdict.includes(api.checked_as),
          'verdict "' + verdict + '" against ' + JSON.stringify(api.compatible));
    const diffText = await textOf(page, '#diff');
    check(api.changes.length > 0 && api.changes.every((c) => diffText.includes(c.path)), 'every change of the API is shown');
    await shot(page, 'channel');
    await a11y(page, 'channel');

    progress('escaping');
    const scriptChannel = process.env.SCRIPT_CHANNEL;
    const contract = (await rest('GET', '/v1/channels/' + CHANNEL, process.env.ADMIN_TOKEN)).json.contract;
    contract.channel = scriptChannel;
    contract.description = '<script>window.__chanregPwned = 1</script> & <b>not bold</b>';
    contract.consumers = [];
    r = await rest('PUT', '/v1/channels/' + scriptChannel, process.env.ADMIN_TOKEN, contract);
    check(r.status === 201, 'channel with a <script> description: ' + r.status + ' ' + JSON.stringify(r.json));
    await go(page, '#/channel/' + encodeURIComponent(scriptChannel), '#description');
    const desc = await textOf(page, '#description');
    check(desc.includes('<script>'), 'description shown as text: ' + desc);
    check(await page.evaluate(() => window.__chanregPwned === undefined), 'the description script did not run');
    check((await page.$$('main script')).length === 0, 'no script element in the page body');
    await shot(page, 'escaping');

    progress('portal without sign-in');
    await go(page, '#/portal', '#sign-in-needed');
    r = await rest('PUT', '/v1/channels/' + CHANNEL + '/consumers/' + CONSUMER, null, {});
    check(r.status === 401, 'a write without a token is ' + r.status);

    progress('register with errors');
    await signIn(page, process.env.BILLING_TOKEN);
    await page.waitForSelector('#register-form', {timeout: WAIT_MS});
    const bad = {channel: CHANNEL, name: CONSUMER, principal: 'invoicing-svc', group: 'bad group!',
                 scenario: '', sla_p99_ms: '0', peak_rate_msgs: '1500', degradation: ''};
    await fill(page, bad);
    await page.click('#register-submit');
    await page.waitForSelector('#register-failed', {timeout: WAIT_MS});
    const dry = await rest('PUT', '/v1/channels/' + CHANNEL + '/consumers/' + CONSUMER + '?dry_run=true',
                           process.env.BILLING_TOKEN,
                           {principal: bad.principal, group: bad.group, sla_p99_ms: 0, peak_rate_msgs: 1500});
    check(dry.status === 422 && dry.json.errors.length >= 5, 'dry run of the bad body: ' + JSON.stringify(dry.json));
    for (const e of dry.json.errors) {
      const shown = await textOf(page, '#e-' + e.path);
      check(shown.includes(e.message), 'field ' + e.path + ' shows the server message "' + e.message + '": "' + shown + '"');
    }
    check((await consumer(CONSUMER)) === null, 'nothing was registered');
    await shot(page, 'portal-errors');
    await a11y(page, 'portal-errors');

    progress('register');
    await fill(page, {principal: 'User:invoicing-svc', group: 'billing.invoicing',
                      scenario: 'Creates the invoice of each order <b>bold</b>.', sla_p99_ms: '2000',
                      degradation: 'lag'});
    await page.click('#register-submit');
    await page.waitForSelector('#register-ok', {timeout: WAIT_MS});
    check((await textOf(page, '#register-ok')).includes('pending'), 'registration is pending');
    let c = await until(() => consumer(CONSUMER), 'the consumer in the REST API');
    check(c.state === 'pending' && c.group === 'billing.invoicing' && c.requester_team === 'billing',
          'stored consumer ' + JSON.stringify(c));
    await page.waitForSelector('#pending-consumers tr[data-consumer-row="' + CONSUMER + '"]', {timeout: WAIT_MS});
    await shot(page, 'portal-pending');

    progress('approve');
    await signIn(page, process.env.ORDERS_TOKEN);
    await page.waitForSelector('#pending-consumers button[data-action=approve][data-consumer="' + CONSUMER + '"]', {timeout: WAIT_MS});
    await clickAndReload(page, '#pending-consumers button[data-action=approve][data-consumer="' + CONSUMER + '"]');
    c = await until(async () => { const x = await consumer(CONSUMER); return x && x.state === 'approved' ? x : null; },
                    'approval in the REST API');
    check(c.decided_by === 'orders-owner', 'decided by the owner: ' + c.decided_by);
    await page.waitForSelector('#my-consumers button[data-action=renew][data-consumer="' + CONSUMER + '"]', {timeout: WAIT_MS});
    await shot(page, 'portal-approved');
    await a11y(page, 'portal-approved');

    progress('renew');
    const audit = async (action) => {
      const a = await rest('GET', '/v1/audit?object=' + encodeURIComponent('channel/' + CHANNEL + '/consumer/' + CONSUMER) +
                           '&limit=1000', process.env.ADMIN_TOKEN);
      return a.json.entries.filter((e) => e.action === action).length;
    };
    const renewsBefore = await audit('consumer.renew');
    await clickAndReload(page, '#my-consumers button[data-action=renew][data-consumer="' + CONSUMER + '"]');
    await until(async () => (await audit('consumer.renew')) === renewsBefore + 1, 'consumer.renew in the audit log');

    progress('remove');
    await page.waitForSelector('#my-consumers button[data-action=remove][data-consumer="' + CONSUMER + '"]', {timeout: WAIT_MS});
    await clickAndReload(page, '#my-consumers button[data-action=remove][data-consumer="' + CONSUMER + '"]');
    await until(async () => (await consumer(CONSUMER)) === null, 'removal in the REST API');
    r = await rest('GET', '/v1/channels/' + CHANNEL + '/consumers', process.env.ADMIN_TOKEN);
    check(!r.json.consumers.some((x) => x.name === CONSUMER), 'consumer list without it');

    progress('reject');
    const OTHER = 'reporting';
    const reason = 'Reporting reads the <warehouse> copy instead.';
    await signIn(page, process.env.BILLING_TOKEN);
    await page.waitForSelector('#register-form', {timeout: WAIT_MS});
    await fill(page, {channel: CHANNEL, name: OTHER, principal: 'User:reporting-svc', group: 'billing.reporting',
                      scenario: 'Monthly revenue report.', sla_p99_ms: '60000', peak_rate_msgs: '100',
                      degradation: 'drop'});
    await page.click('#register-submit');
    await page.waitForSelector('#register-ok', {timeout: WAIT_MS});
    await until(async () => { const x = await consumer(OTHER); return x && x.state === 'pending'; }, 'pending ' + OTHER);
    await signIn(page, process.env.ORDERS_TOKEN);
    await page.waitForSelector('#pending-consumers input[data-reason-for="' + OTHER + '"]', {timeout: WAIT_MS});
    await page.type('#pending-consumers input[data-reason-for="' + OTHER + '"]', reason);
    await clickAndReload(page, '#pending-consumers button[data-action=reject][data-consumer="' + OTHER + '"]');
    c = await until(async () => { const x = await consumer(OTHER); return x && x.state === 'rejected' ? x : null; },
                    'rejection in the REST API');
    check(c.decision_reason === reason, 'stored reason ' + JSON.stringify(c.decision_reason));
    await signIn(page, process.env.BILLING_TOKEN);
    await page.waitForSelector('#my-consumers tr[data-consumer-row="' + OTHER + '"]', {timeout: WAIT_MS});
    const rejectedRow = await textOf(page, '#my-consumers tr[data-consumer-row="' + OTHER + '"]');
    check(rejectedRow.includes('rejected') && rejectedRow.includes(reason), 'rejected with its reason: ' + rejectedRow);
    await shot(page, 'portal-rejected');

    progress('audit page');
    await go(page, '#/audit?object=' + encodeURIComponent('channel/' + CHANNEL + '/consumer/' + CONSUMER), '#audit-results table');
    const auditText = await textOf(page, '#audit-results');
    for (const action of ['consumer.request', 'consumer.approve', 'consumer.renew', 'consumer.remove'])
      check(auditText.includes(action), 'audit page shows ' + action);
    await shot(page, 'audit');
    await a11y(page, 'audit');

    progress('sign out');
    await page.click('#sign-out');
    await page.waitForSelector('#token-input', {timeout: WAIT_MS});
    check(await page.evaluate(() => window.sessionStorage.length === 0), 'the token is gone from sessionStorage');

    check(problems.length === 0, 'browser problems: ' + problems.join('; '));
  } finally {
    progress('close');
    await browser.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
}

/* Exit at once: idle keep-alive connections of fetch() would hold the process open. */
main().then(() => {
  console.log('ui_flow: ok');
  process.exit(0);
}, (e) => {
  console.error('ui_flow: FAILED at ' + step + ': ' + (e && e.stack || e));
  process.exit(1);
});
