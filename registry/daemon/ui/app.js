/*
 * app.js - the chanreg web UI: catalog, channel pages, consumer portal and
 * audit log, on the same REST API as chanctl.
 *
 * Rules of this file:
 *  - every piece of data goes into the page through text nodes (el() and
 *    text()); nothing is ever assigned to innerHTML, so a description that
 *    contains <script> shows as text;
 *  - no decision is made here: compatibility verdicts and schema diffs come
 *    from /v1/channels/{name}/schema-diff, lifecycle states from
 *    /v1/lifecycle, consumer validation from the consumer PUT's dry run
 *    (the same library function as every other path);
 *  - the token lives in sessionStorage (this tab only) and is sent as a
 *    Bearer token; every write goes through the REST API and needs it.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'chanreg.token';
  var PAGE_SIZE = 50;
  var main = document.getElementById('main');
  var statusBox = document.getElementById('status');
  var whoami = null;

  /* ---------------------------------------------------------------- */
  /* DOM helpers                                                      */
  /* ---------------------------------------------------------------- */

  function text(s) {
    return document.createTextNode(s === null || s === undefined ? '' : String(s));
  }

  /* el('a', {href: '#/'}, 'child', el(...)): attributes by setAttribute, children as text or nodes. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var i, k, c;

    if (attrs) {
      for (k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === null ||
            attrs[k] === undefined || attrs[k] === false)
          continue;
        if (k === 'onclick' || k === 'onsubmit' || k === 'onchange')
          node.addEventListener(k.slice(2), attrs[k]);
        else if (k === 'value')
          node.value = attrs[k];
        else
          node.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
      }
    }
    for (i = 2; i < arguments.length; i++) {
      c = arguments[i];
      if (c === null || c === undefined || c === false)
        continue;
      if (Array.isArray(c))
        c.forEach(function (x) { if (x) node.appendChild(typeof x === 'object' ? x : text(x)); });
      else
        node.appendChild(typeof c === 'object' ? c : text(c));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild)
      node.removeChild(node.firstChild);
  }

  function badge(label, kind) {
    return el('span', {'class': 'badge ' + (kind || 'info')}, label);
  }

  function table(headers, rows, caption) {
    return el('table', null,
      caption ? el('caption', {'class': 'visually-hidden'}, caption) : null,
      el('thead', null, el('tr', null, headers.map(function (h) {
        var num = h.charAt(0) === '#';
        return el('th', {scope: 'col', 'class': num ? 'num' : null}, num ? h.slice(1) : h);
      }))),
      el('tbody', null, rows.length ? rows : [el('tr', null,
        el('td', {colspan: headers.length, 'class': 'muted'}, 'Nothing to show.'))]));
  }

  var sayTimer = null;

  /* A short status message; it goes away after a few seconds and on the next page. */
  function say(msg) {
    statusBox.textContent = msg;
    window.clearTimeout(sayTimer);
    if (msg)
      sayTimer = window.setTimeout(function () { statusBox.textContent = ''; }, 4000);
  }

  function channelLink(name) {
    return el('a', {href: '#/channel/' + encodeURIComponent(name)}, name);
  }

  function ageText(days) {
    if (days === null || days === undefined)
      return '';
    return days === 1 ? '1 day' : days + ' days';
  }

  /* ---------------------------------------------------------------- */
  /* REST API                                                         */
  /* ---------------------------------------------------------------- */

  function token() {
    return window.sessionStorage.getItem(TOKEN_KEY);
  }

  function ApiError(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (body && body.message) || ('HTTP ' + status);
  }

  /* fetch JSON; resolves {status, body}; rejects with ApiError for a non-2xx reply. */
  function api(method, path, body) {
    var headers = {'Accept': 'application/json'};
    var opts = {method: method, headers: headers, credentials: 'omit', cache: 'no-store'};

    if (token())
      headers['Authorization'] = 'Bearer ' + token();
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return window.fetch(path, opts).then(function (resp) {
      return resp.text().then(function (t) {
        var json = null;
        try { json = t ? JSON.parse(t) : null; } catch (e) { json = {message: t}; }
        if (!resp.ok)
          throw new ApiError(resp.status, json);
        return {status: resp.status, body: json};
      });
    });
  }

  function qs(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== '')
        parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return parts.length ? '?' + parts.join('&') : '';
  }

  function chanPath(name) {
    return '/v1/channels/' + encodeURIComponent(name);
  }

  function consumerPath(channel, consumer) {
    return chanPath(channel) + '/consumers/' + encodeURIComponent(consumer);
  }

  function showError(where, e) {
    where.appendChild(el('p', {'class': 'notice bad', role: 'alert'},
      e instanceof ApiError ? e.message + (e.body.error_code ? ' (' + e.body.error_code + ')' : '')
                            : String(e),
      e instanceof ApiError && e.status === 401 ? ' Sign in with an API token (top right).' : null));
  }

  /* ---------------------------------------------------------------- */
  /* Session                                                          */
  /* ---------------------------------------------------------------- */

  function myTeams() {
    var teams = [];
    (whoami && whoami.roles || []).forEach(function (r) {
      var m = /^(owner|ci):(.+)$/.exec(r);
      if (m && teams.indexOf(m[2]) < 0)
        teams.push(m[2]);
    });
    return teams;
  }

  function isAdmin() {
    return !!whoami && (whoami.roles || []).indexOf('admin') >= 0;
  }

  function canWrite() {
    return !!whoami && (isAdmin() || myTeams().length > 0);
  }

  function renderSession() {
    var box = document.getElementById('session');
    clear(box);
    if (token() && whoami && whoami.identity !== 'anonymous') {
      box.appendChild(el('span', {id: 'identity'}, 'Signed in as ' + whoami.identity +
        ((whoami.roles || []).length ? ' (' + whoami.roles.join(', ') + ')' : '')));
      box.appendChild(el('button', {type: 'button', id: 'sign-out', onclick: function () {
        window.sessionStorage.removeItem(TOKEN_KEY);
        refreshSession().then(route);
      }}, 'Sign out'));
      return;
    }
    if (whoami && whoami.auth === false) {
      box.appendChild(el('span', {id: 'identity'}, 'Open registry (no authentication)'));
      return;
    }
    box.appendChild(el('form', {id: 'sign-in', onsubmit: function (ev) {
      var input = document.getElementById('token-input');
      ev.preventDefault();
      if (!input.value)
        return;
      window.sessionStorage.setItem(TOKEN_KEY, input.value);
      refreshSession().then(function () {
        if (!whoami || whoami.identity === 'anonymous') {
          window.sessionStorage.removeItem(TOKEN_KEY);
          say('Sign-in failed: the token is not valid.');
        }
        renderSession();
        route();
      });
    }},
      el('label', {'class': 'inline', 'for': 'token-input'}, el('span', {'class': 'visually-hidden'}, 'API token')),
      el('input', {id: 'token-input', type: 'password', autocomplete: 'off', placeholder: 'API token',
                   'aria-label': 'API token'}),
      el('button', {type: 'submit'}, 'Sign in')));
  }

  function refreshSession() {
    return api('GET', '/v1/whoami').then(function (r) {
      whoami = r.body;
    }, function () {
      whoami = null;
    }).then(renderSession);
  }

  /* ---------------------------------------------------------------- */
  /* Catalog                                                          */
  /* ---------------------------------------------------------------- */

  /* Lifecycle states by channel, from /v1/lifecycle (the server's rules). */
  function lifecycleStates() {
    return api('GET', '/v1/lifecycle').then(function (r) {
      var states = {};
      (r.body.deprecating || []).forEach(function (c) {
        states[c.channel] = {label: 'deprecating in ' + ageText(c.days_left), kind: 'warn'};
      });
      (r.body.deprecated || []).forEach(function (c) {
        states[c.channel] = {label: 'deprecated since ' + c.deprecation_date, kind: 'warn'};
      });
      (r.body.retired || []).forEach(function (c) {
        states[c.channel] = {label: 'retired since ' + c.retirement_date, kind: 'bad'};
      });
      return states;
    }, function () { return {}; });
  }

  function countConsumers(ch) {
    if (typeof ch.consumer_count === 'number')
      return ch.consumer_count;
    return (ch.consumers || []).length;
  }

  function countStale(ch) {
    if (typeof ch.stale_consumer_count === 'number')
      return ch.stale_consumer_count;
    return (ch.consumers || []).filter(function (c) { return c.stale; }).length;
  }

  function renderCatalog(params) {
    var f = {q: params.q || '', owner_team: params.owner_team || '', deprecated: params.deprecated || '',
             stale: params.stale || '', cursor: params.cursor || ''};
    var prev = (params.prev || '').split(',').filter(function (x) { return x !== ''; });
    var form, results = el('div', {id: 'catalog-results'});

    function go(extra) {
      var p = {q: f.q, owner_team: f.owner_team, deprecated: f.deprecated, stale: f.stale};
      Object.keys(extra || {}).forEach(function (k) { p[k] = extra[k]; });
      window.location.hash = '#/' + qs(p);
    }

    form = el('form', {'class': 'filters', id: 'catalog-filters', role: 'search', onsubmit: function (ev) {
      ev.preventDefault();
      f.q = form.elements.q.value.trim();
      f.owner_team = form.elements.owner_team.value.trim();
      f.deprecated = form.elements.deprecated.value;
      f.stale = form.elements.stale.checked ? 'true' : '';
      go();
    }},
      el('label', null, 'Search', el('input', {name: 'q', type: 'search', value: f.q, placeholder: 'name, team, maintainer, subject'})),
      el('label', null, 'Team', el('input', {name: 'owner_team', value: f.owner_team, placeholder: 'any'})),
      el('label', null, 'Deprecated', el('select', {name: 'deprecated'},
        el('option', {value: ''}, 'any'),
        el('option', {value: 'false', selected: f.deprecated === 'false'}, 'not deprecated'),
        el('option', {value: 'true', selected: f.deprecated === 'true'}, 'deprecated'))),
      el('label', {'class': 'inline'}, el('input', {name: 'stale', type: 'checkbox', checked: f.stale === 'true'}),
        'with stale consumers'),
      el('button', {type: 'submit'}, 'Filter'));

    clear(main);
    main.appendChild(el('h1', null, 'Channel catalog'));
    main.appendChild(form);
    main.appendChild(results);
    say('Loading channels...');
    return Promise.all([
      api('GET', '/v1/channels' + qs({limit: PAGE_SIZE, cursor: f.cursor, q: f.q, owner_team: f.owner_team,
                                      deprecated: f.deprecated, stale: f.stale})),
      lifecycleStates()
    ]).then(function (res) {
      var body = res[0].body, states = res[1];
      var paged = Object.prototype.hasOwnProperty.call(body, 'next_cursor');
      var list = body.channels || [];
      var rows, total;

      /* A registry without server-side search: filter what it sent. */
      if (!paged) {
        if (f.q)
          list = list.filter(function (c) {
            return [c.name, c.owner_team, c.maintainer, c.subject].some(function (v) {
              return (v || '').toLowerCase().indexOf(f.q.toLowerCase()) >= 0;
            });
          });
        if (f.stale === 'true')
          list = list.filter(function (c) { return countStale(c) > 0; });
      }
      total = typeof body.total === 'number' ? body.total : list.length;
      rows = list.map(function (c) {
        var st = states[c.name];
        var stale = countStale(c);
        return el('tr', null,
          el('td', null, channelLink(c.name)),
          el('td', null, c.owner_team),
          el('td', null, c.maintainer),
          el('td', {'class': 'num'}, c.peak_qps),
          el('td', {'class': 'num'}, c.retention_hours + ' h'),
          el('td', null, c.subject, c.latest_version ? ' v' + c.latest_version : ''),
          el('td', null, c.compatibility),
          el('td', {'class': 'num'}, countConsumers(c),
            stale ? [' ', badge(stale + ' stale', 'warn')] : null),
          el('td', null, st ? badge(st.label, st.kind) : badge('active', 'ok')));
      });
      clear(results);
      results.appendChild(el('p', {'class': 'muted', id: 'catalog-count'},
        total + (total === 1 ? ' channel' : ' channels') + (f.q || f.owner_team || f.deprecated || f.stale ? ' match' : '')));
      results.appendChild(table(['Channel', 'Team', 'Maintainer', '#Peak QPS', '#Retention', 'Subject',
                                 'Compatibility', '#Consumers', 'State'], rows, 'Channels'));
      results.appendChild(el('div', {'class': 'pager'},
        prev.length || f.cursor ? el('button', {type: 'button', 'class': 'secondary', id: 'prev-page', onclick: function () {
          var back = prev.slice(0, -1);
          go({cursor: prev.length ? prev[prev.length - 1] : '', prev: back.join(',')});
        }}, 'Previous page') : null,
        paged && body.next_cursor ? el('button', {type: 'button', id: 'next-page', onclick: function () {
          go({cursor: body.next_cursor, prev: prev.concat([f.cursor]).join(',')});
        }}, 'Next page') : null));
      say('');
    }, function (e) {
      say('');
      showError(results, e);
    });
  }

  /* ---------------------------------------------------------------- */
  /* Channel page                                                     */
  /* ---------------------------------------------------------------- */

  function consumerActions(channel, c, reload) {
    var cell = el('td', null);
    var act = function (label, method, suffix, body, cls) {
      return el('button', {type: 'button', 'class': cls || 'secondary', 'data-action': label.toLowerCase(),
        'data-consumer': c.name, onclick: function () {
          api(method, consumerPath(channel, c.name) + suffix, body).then(function () {
            say(label + ': ' + c.name + ' done');
            reload();
          }, function (e) { showError(cell, e); });
        }}, label);
    };

    if (!canWrite() || c.origin === 'contract')
      return cell;
    if (c.state === 'pending') {
      var reason = el('input', {'aria-label': 'Reason for rejecting ' + c.name, placeholder: 'reason',
                                'data-reason-for': c.name});
      cell.appendChild(act('Approve', 'POST', '/approve', {}));
      cell.appendChild(text(' '));
      cell.appendChild(reason);
      cell.appendChild(el('button', {type: 'button', 'class': 'danger', 'data-action': 'reject', 'data-consumer': c.name,
        onclick: function () {
          api('POST', consumerPath(channel, c.name) + '/reject', {reason: reason.value}).then(function () {
            say('Rejected ' + c.name);
            reload();
          }, function (e) { showError(cell, e); });
        }}, 'Reject'));
    } else if (c.state === 'approved') {
      cell.appendChild(act('Renew', 'POST', '/renew', undefined));
    }
    cell.appendChild(text(' '));
    cell.appendChild(act('Remove', 'DELETE', '', undefined, 'danger'));
    return cell;
  }

  function stateBadge(c) {
    if (c.state === 'pending')
      return badge('pending approval', 'warn');
    if (c.state === 'rejected')
      return el('span', null, badge('rejected', 'bad'), c.decision_reason ? ' ' + c.decision_reason : '');
    return badge('approved', 'ok');
  }

  function consumersTable(channel, consumers, reload, withChannel) {
    var headers = ['Consumer', 'Principal', 'Group', '#SLA p99', '#Peak rate', 'Degradation', 'State',
                   'Registered', 'Actions'];
    if (withChannel)
      headers.unshift('Channel');
    return table(headers, consumers.map(function (c) {
      var ch = channel || c.channel;
      return el('tr', {'data-consumer-row': c.name},
        withChannel ? el('td', null, channelLink(ch)) : null,
        el('td', null, c.name, c.origin === 'contract' ? [' ', badge('contract', 'info')] : null),
        el('td', null, c.principal),
        el('td', null, c.group),
        el('td', {'class': 'num'}, c.sla_p99_ms + ' ms'),
        el('td', {'class': 'num'}, c.peak_rate_msgs + '/s'),
        el('td', null, c.degradation),
        el('td', null, stateBadge(c)),
        el('td', null, 'renewed ' + ageText(c.age_days) + ' ago', c.stale ? [' ', badge('stale', 'warn')] : null),
        consumerActions(ch, c, reload));
    }), 'Consumers');
  }

  function changeClass(kind) {
    if (/added$/.test(kind))
      return 'change-added';
    if (/removed$/.test(kind))
      return 'change-removed';
    return 'change-changed';
  }

  function renderDiff(box, name, from, to) {
    clear(box);
    box.appendChild(el('p', {'class': 'muted'}, 'Comparing...'));
    return api('GET', chanPath(name) + '/schema-diff' + qs({from: from, to: to})).then(function (r) {
      var d = r.body;
      clear(box);
      box.appendChild(el('p', {id: 'diff-verdict', 'class': 'notice ' + (d.compatible ? 'ok' : 'bad')},
        'Version ' + d.to.version + ' after version ' + d.from.version + ': ',
        d.compatible ? badge('compatible', 'ok') : badge('incompatible', 'bad'),
        ' under ' + d.checked_as + (d.checked_as !== d.compatibility ? ' (the subject is ' + d.compatibility + ')' : '')));
      if (d.issues.length)
        box.appendChild(el('ul', {id: 'diff-issues'}, d.issues.map(function (i) {
          return el('li', null, el('code', null, i.kind), ' ', i.message);
        })));
      box.appendChild(table(['Change', 'Where', 'Before', 'After'], d.changes.map(function (c) {
        return el('tr', {'class': changeClass(c.kind)},
          el('td', null, c.kind), el('td', null, el('code', null, c.path || '(top level)')),
          el('td', null, c.old === undefined || c.old === null ? '' : el('code', null, c.old)),
          el('td', null, c.new === undefined || c.new === null ? '' : el('code', null, c.new)));
      }), 'Schema changes'));
    }, function (e) {
      clear(box);
      showError(box, e);
    });
  }

  function versionSection(ch) {
    var sec = el('section', {'aria-labelledby': 'h-versions'}, el('h2', {id: 'h-versions'}, 'Schema versions'));
    var diffBox = el('div', {id: 'diff'});
    api('GET', '/subjects/' + encodeURIComponent(ch.subject) + '/versions').then(function (r) {
      var versions = r.body || [];
      var opts = function (sel) {
        return versions.map(function (v) { return el('option', {value: v, selected: v === sel}, 'version ' + v); });
      };
      var latest = versions[versions.length - 1];
      var before = versions.length > 1 ? versions[versions.length - 2] : latest;
      var fromSel = el('select', {id: 'diff-from', name: 'from'}, opts(before));
      var toSel = el('select', {id: 'diff-to', name: 'to'}, opts(latest));
      sec.appendChild(el('p', null, ch.subject + ': ' + versions.length + (versions.length === 1 ? ' version' : ' versions')));
      sec.appendChild(el('form', {'class': 'row', id: 'diff-form', onsubmit: function (ev) {
        ev.preventDefault();
        renderDiff(diffBox, ch.name, fromSel.value, toSel.value);
      }}, el('label', null, 'From', fromSel), el('label', null, 'To', toSel),
         el('button', {type: 'submit', id: 'diff-compare'}, 'Compare')));
      sec.appendChild(diffBox);
    }, function (e) { showError(sec, e); });
    return sec;
  }

  function aclSection(ch) {
    var sec = el('section', {'aria-labelledby': 'h-acl'}, el('h2', {id: 'h-acl'}, 'Kafka ACLs'));
    var groups = (ch.consumers || []).map(function (c) { return c.group; });
    var mine = function (b) {
      return (b.resource_type === 'TOPIC' && b.resource_name === ch.name) ||
             (b.resource_type === 'GROUP' && groups.indexOf(b.resource_name) >= 0);
    };
    api('GET', '/v1/acl/plan').then(function (r) {
      var p = r.body, rows = [];
      [['create', 'to create', 'warn'], ['delete', 'to delete', 'bad'], ['unchanged', 'in place', 'ok']].forEach(function (k) {
        (p[k[0]] || []).filter(mine).forEach(function (b) {
          rows.push(el('tr', null, el('td', null, badge(k[1], k[2])), el('td', null, b.principal),
            el('td', null, b.resource_type + ' ' + b.resource_name), el('td', null, b.operation),
            el('td', null, b.permission)));
        });
      });
      sec.appendChild(el('p', {'class': 'muted'}, 'Cluster state: ' + p.actual_state + ', mode ' + p.mode + '.'));
      sec.appendChild(table(['Change', 'Principal', 'Resource', 'Operation', 'Permission'], rows, 'ACL plan'));
    }, function (e) {
      sec.appendChild(el('p', {'class': 'muted', id: 'acl-state'},
        e.body && e.body.error_code === 50310 ? 'Kafka is not configured on this registry: no ACL state to show.'
                                              : 'ACL plan unavailable: ' + e.message));
    });
    return sec;
  }

  /* The channel's series of /metrics (Prometheus text): shown as they are. */
  var HEALTH_METRICS = ['channel_schema_compatibility_rate', 'channel_schema_registrations_total',
                        'producer_schema_version_mismatch_count', 'consumer_registration_age_days'];

  function healthSection(ch) {
    var sec = el('section', {'aria-labelledby': 'h-health'}, el('h2', {id: 'h-health'}, 'Health metrics'));
    var headers = {Accept: 'text/plain'};
    if (token())
      headers['Authorization'] = 'Bearer ' + token();
    window.fetch('/metrics', {headers: headers, credentials: 'omit', cache: 'no-store'}).then(function (resp) {
      if (!resp.ok)
        throw new Error('GET /metrics: HTTP ' + resp.status);
      return resp.text();
    }).then(function (body) {
      var rows = [];
      body.split('\n').forEach(function (line) {
        var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)/.exec(line);
        var labels = {}, re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g, l, rest = [];
        if (!m || HEALTH_METRICS.indexOf(m[1]) < 0)
          return;
        while ((l = re.exec(m[2])))
          labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
        if (labels.channel !== ch.name)
          return;
        Object.keys(labels).forEach(function (k) { if (k !== 'channel') rest.push(k + '=' + labels[k]); });
        rows.push(el('tr', null, el('td', null, el('code', null, m[1])), el('td', null, rest.join(', ')),
                     el('td', {'class': 'num'}, /^-?\d+$/.test(m[3]) ? m[3] : Number(m[3]).toPrecision(3))));
      });
      sec.appendChild(table(['Metric', 'Labels', '#Value'], rows, 'Health metrics'));
    }).catch(function (e) { showError(sec, e); });
    return sec;
  }

  function auditTable(entries) {
    return table(['#Id', 'Time', 'Actor', 'Action', 'Object', 'Detail'], entries.map(function (e) {
      return el('tr', null, el('td', {'class': 'num'}, e.id), el('td', null, e.ts), el('td', null, e.actor),
        el('td', null, e.action), el('td', null, el('code', null, e.object)),
        el('td', null, e.detail ? el('code', {'class': 'detail'}, JSON.stringify(e.detail).slice(0, 240)) : ''));
    }), 'Audit entries');
  }

  function auditSection(ch) {
    var sec = el('section', {'aria-labelledby': 'h-audit'}, el('h2', {id: 'h-audit'}, 'History'));
    var object = 'channel/' + ch.name;
    api('GET', '/v1/audit' + qs({object: object, limit: 1000})).then(function (r) {
      var entries = (r.body.entries || []).filter(function (e) {
        return e.object === object || e.object.indexOf(object + '/') === 0;
      }).reverse();
      sec.appendChild(auditTable(entries));
    }, function (e) { showError(sec, e); });
    return sec;
  }

  function renderChannel(name) {
    clear(main);
    say('Loading ' + name + '...');
    return Promise.all([api('GET', chanPath(name)), lifecycleStates()]).then(function (res) {
      var ch = res[0].body, st = res[1][name];
      var contract = ch.contract || {};
      var reload = function () { renderChannel(name); };

      clear(main);
      main.appendChild(el('p', null, el('a', {href: '#/'}, 'Catalog'), ' / ', name));
      main.appendChild(el('h1', null, name, ' ', st ? badge(st.label, st.kind) : badge('active', 'ok')));
      main.appendChild(el('div', {'class': 'cols'},
        el('section', {'aria-labelledby': 'h-contract'}, el('h2', {id: 'h-contract'}, 'Contract'),
          el('dl', {'class': 'facts'},
            el('dt', null, 'Description'), el('dd', {id: 'description'}, contract.description || ''),
            el('dt', null, 'Team'), el('dd', null, ch.owner_team),
            el('dt', null, 'Maintainer'), el('dd', null, ch.maintainer),
            el('dt', null, 'Peak QPS'), el('dd', null, ch.peak_qps),
            el('dt', null, 'Retention'), el('dd', null, ch.retention_hours + ' hours'),
            el('dt', null, 'Subject'), el('dd', null, ch.subject),
            el('dt', null, 'Compatibility'), el('dd', null, ch.compatibility),
            el('dt', null, 'Revision'), el('dd', null, ch.revision),
            el('dt', null, 'Created'), el('dd', null, ch.created_at),
            el('dt', null, 'Updated'), el('dd', null, ch.updated_at),
            el('dt', null, 'Deprecation date'), el('dd', null, ch.deprecation_date || 'none'),
            el('dt', null, 'Retirement date'), el('dd', null, ch.retirement_date || 'none'),
            el('dt', null, 'Producers'), el('dd', null, (ch.producers || []).map(function (p) { return p.principal; }).join(', ') || 'none'))),
        el('section', {'aria-labelledby': 'h-doc'}, el('h2', {id: 'h-doc'}, 'Contract document'),
          el('pre', {tabindex: 0, 'aria-label': 'Contract document'}, JSON.stringify(contract, null, 2)))));
      main.appendChild(el('section', {'aria-labelledby': 'h-consumers'},
        el('h2', {id: 'h-consumers'}, 'Consumers'), consumersTable(name, ch.consumers || [], reload, false),
        canWrite() ? el('p', null, el('a', {href: '#/portal' + qs({channel: name})}, 'Register a consumer of this channel')) : null));
      main.appendChild(versionSection(ch));
      main.appendChild(healthSection(ch));
      main.appendChild(aclSection(ch));
      main.appendChild(auditSection(ch));
      say('');
    }, function (e) {
      say('');
      clear(main);
      main.appendChild(el('h1', null, name));
      showError(main, e);
    });
  }

  /* ---------------------------------------------------------------- */
  /* Portal                                                           */
  /* ---------------------------------------------------------------- */

  var FIELD_LABELS = {
    name: 'Consumer name', principal: 'Kafka principal', group: 'Consumer group', scenario: 'Business scenario',
    sla_p99_ms: 'P99 latency SLA (ms)', peak_rate_msgs: 'Peak consumption rate (msg/s)',
    degradation: 'Degradation strategy'
  };

  function fieldInput(rule, value) {
    var attrs = {id: 'f-' + rule.name, name: rule.name, 'aria-describedby': 'e-' + rule.name, value: value || ''};
    if (rule.required)
      attrs['aria-required'] = 'true';
    if (rule.max_length)
      attrs.maxlength = rule.max_length;
    if (rule.type === 'integer') {
      attrs.type = 'number';
      attrs.min = rule.min;
      attrs.max = rule.max;
      attrs.step = 1;
    }
    if (rule.enum)
      return el('select', attrs, el('option', {value: ''}, 'choose...'), rule.enum.map(function (v) {
        return el('option', {value: v, selected: v === value}, v);
      }));
    if (rule.name === 'scenario')
      return el('textarea', attrs);
    return el('input', attrs);
  }

  /* The body of the consumer PUT from the form: numbers as numbers when they are integers. */
  function formBody(form, rules) {
    var body = {};
    rules.forEach(function (r) {
      var v;
      if (r.name === 'name')
        return;
      v = form.elements[r.name].value;
      if (v === '')
        return;
      if (r.type === 'integer' && /^-?\d+$/.test(v.trim()))
        body[r.name] = parseInt(v.trim(), 10);
      else
        body[r.name] = v;
    });
    if (form.elements.team && form.elements.team.value)
      body.team = form.elements.team.value;
    return body;
  }

  function showFieldErrors(form, rules, errors) {
    var other = form.querySelector('#e-form');
    rules.forEach(function (r) {
      var box = form.querySelector('#e-' + r.name);
      clear(box);
      form.elements[r.name].removeAttribute('aria-invalid');
    });
    clear(other);
    (errors || []).forEach(function (d) {
      var box = form.querySelector('#e-' + d.path) || other;
      if (form.elements[d.path])
        form.elements[d.path].setAttribute('aria-invalid', 'true');
      box.appendChild(el('span', {'class': 'field-error-item'}, d.message,
        d.hint ? el('span', {'class': 'hint'}, d.hint) : null));
    });
  }

  function registerForm(rules, params, after) {
    var result = el('div', {id: 'register-result', role: 'status'});
    var form = el('form', {'class': 'portal', id: 'register-form', novalidate: true});
    var channelInput = el('input', {id: 'f-channel', name: 'channel', value: params.channel || '',
                                    'aria-describedby': 'e-channel', 'aria-required': 'true'});

    form.appendChild(el('label', {'for': 'f-channel'}, 'Channel', channelInput,
      el('span', {id: 'e-channel', 'class': 'field-error'})));
    rules.forEach(function (r) {
      form.appendChild(el('label', {'for': 'f-' + r.name, 'class': r.name === 'scenario' ? 'wide' : null},
        FIELD_LABELS[r.name] || r.name, fieldInput(r, ''),
        el('span', {id: 'e-' + r.name, 'class': 'field-error'})));
    });
    if (myTeams().length > 1)
      form.appendChild(el('label', {'for': 'f-team'}, 'Register for team',
        el('select', {id: 'f-team', name: 'team'}, myTeams().map(function (t) { return el('option', {value: t}, t); }))));
    form.appendChild(el('div', {'class': 'wide'}, el('span', {id: 'e-form', 'class': 'field-error', role: 'alert'}),
      el('button', {type: 'submit', id: 'register-submit'}, 'Register consumer')));
    form.addEventListener('submit', function (ev) {
      var channel = channelInput.value.trim(), name = form.elements.name.value.trim();
      var body = formBody(form, rules);
      var path;

      ev.preventDefault();
      clear(result);
      clear(form.querySelector('#e-channel'));
      if (!channel) {
        form.querySelector('#e-channel').appendChild(text('channel is missing'));
        return;
      }
      /* An empty name cannot be a path segment: the library's message for it. */
      path = consumerPath(channel, name || ' ');
      /* First the server's validation without writing (the one rule), then the write. */
      api('PUT', path + '?dry_run=true', body).then(function () {
        showFieldErrors(form, rules, []);
        return api('PUT', path, body).then(function (r) {
          var c = r.body;
          result.appendChild(el('p', {'class': 'notice ok', id: 'register-ok'},
            'Consumer ' + c.name + ' on ' + channel + ': ', stateBadge(c),
            r.status === 202 ? ' - the channel owner must approve it before it gets access.' : ''));
          after();
        });
      }).catch(function (e) {
        if (e instanceof ApiError && e.body.errors) {
          showFieldErrors(form, rules, e.body.errors);
          result.appendChild(el('p', {'class': 'notice bad', id: 'register-failed'}, e.message));
        } else {
          showFieldErrors(form, rules, []);
          showError(result, e);
        }
      });
    });
    return el('section', {'aria-labelledby': 'h-register'}, el('h2', {id: 'h-register'}, 'Register a consumer'),
      el('p', {'class': 'muted'}, 'Every field is mandatory. The registry checks them with the same rules as contract files.'),
      form, result);
  }

  function renderPortal(params) {
    var mine = el('div', {id: 'my-consumers'}), pending = el('div', {id: 'pending-consumers'});

    clear(main);
    main.appendChild(el('h1', null, 'Consumer registration portal'));
    if (!canWrite()) {
      main.appendChild(el('p', {'class': 'notice', id: 'sign-in-needed'},
        'Sign in with an API token to register, renew or remove consumers and to approve registrations.'));
      return Promise.resolve();
    }

    var loads = 0;
    function busy(on) {
      [mine, pending].forEach(function (box) {
        box.setAttribute('aria-busy', on ? 'true' : 'false');
        if (!on)
          box.setAttribute('data-loads', String(loads));
      });
    }
    function loadLists() {
      var teams = myTeams();
      var queries = isAdmin() ? [''] : teams;
      busy(true);
      clear(mine);
      clear(pending);
      return Promise.all(queries.map(function (t) {
        return api('GET', '/v1/consumers' + qs({team: t})).then(function (r) { return r.body.consumers || []; });
      })).then(function (lists) {
        var seen = {}, all = [];
        lists.forEach(function (l) {
          l.forEach(function (c) {
            var k = c.channel + '/' + c.name;
            if (!seen[k]) { seen[k] = true; all.push(c); }
          });
        });
        var api_ = all.filter(function (c) { return c.origin === 'api'; });
        var waiting = all.filter(function (c) { return c.state === 'pending'; });
        mine.appendChild(consumersTable(null, api_, loadLists, true));
        pending.appendChild(consumersTable(null, waiting, loadLists, true));
      }, function (e) { showError(mine, e); }).then(function () {
        loads++;
        busy(false);
      });
    }

    return api('GET', '/v1/consumer-rules').then(function (r) {
      main.appendChild(registerForm(r.body.fields, params, loadLists));
      main.appendChild(el('section', {'aria-labelledby': 'h-pending'},
        el('h2', {id: 'h-pending'}, 'Waiting for approval'),
        el('p', {'class': 'muted'}, 'Registrations by other teams on your channels, and yours on theirs. The channel owner approves or rejects them.'),
        pending));
      main.appendChild(el('section', {'aria-labelledby': 'h-mine'},
        el('h2', {id: 'h-mine'}, 'Registrations made through the portal or the API'), mine));
      return loadLists();
    }, function (e) { showError(main, e); });
  }

  /* ---------------------------------------------------------------- */
  /* Audit log                                                        */
  /* ---------------------------------------------------------------- */

  function renderAudit(params) {
    var results = el('div', {id: 'audit-results'});
    var form = el('form', {'class': 'filters', id: 'audit-filters', onsubmit: function (ev) {
      ev.preventDefault();
      window.location.hash = '#/audit' + qs({object: form.elements.object.value.trim(),
        action: form.elements.action.value.trim(), actor: form.elements.actor.value.trim()});
    }},
      el('label', null, 'Object starts with', el('input', {name: 'object', value: params.object || '', placeholder: 'channel/orders.'})),
      el('label', null, 'Action', el('input', {name: 'action', value: params.action || '', placeholder: 'consumer.'})),
      el('label', null, 'Actor', el('input', {name: 'actor', value: params.actor || ''})),
      el('button', {type: 'submit'}, 'Filter'));

    clear(main);
    main.appendChild(el('h1', null, 'Audit log'));
    main.appendChild(form);
    main.appendChild(results);
    return api('GET', '/v1/audit' + qs({object: params.object, after: params.after, limit: 200})).then(function (r) {
      var entries = (r.body.entries || []).filter(function (e) {
        return (!params.action || e.action.indexOf(params.action) === 0) && (!params.actor || e.actor === params.actor);
      });
      results.appendChild(auditTable(entries));
      if ((r.body.entries || []).length === 200)
        results.appendChild(el('div', {'class': 'pager'}, el('a', {id: 'audit-next', href: '#/audit' + qs({
          object: params.object, action: params.action, actor: params.actor, after: r.body.next})}, 'Older entries follow: next page')));
    }, function (e) { showError(results, e); });
  }

  /* ---------------------------------------------------------------- */
  /* Routing                                                          */
  /* ---------------------------------------------------------------- */

  function decode(s) {
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s; /* a malformed escape stays as typed */
    }
  }

  function parseHash() {
    var h = window.location.hash.replace(/^#/, '') || '/';
    var q = h.indexOf('?'), params = {}, path = q >= 0 ? h.slice(0, q) : h;
    if (q >= 0)
      h.slice(q + 1).split('&').forEach(function (kv) {
        var i = kv.indexOf('=');
        if (i > 0)
          params[decode(kv.slice(0, i))] = decode(kv.slice(i + 1).replace(/\+/g, ' '));
      });
    return {path: path, params: params};
  }

  function markNav(which) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-nav]'), function (a) {
      if (a.getAttribute('data-nav') === which)
        a.setAttribute('aria-current', 'page');
      else
        a.removeAttribute('aria-current');
    });
  }

  function route() {
    var r = parseHash(), m, done;
    say('');
    if ((m = /^\/channel\/(.+)$/.exec(r.path))) {
      markNav('catalog');
      document.title = decode(m[1]) + ' - chanreg';
      done = renderChannel(decode(m[1]));
    } else if (r.path === '/portal') {
      markNav('portal');
      document.title = 'Consumer portal - chanreg';
      done = renderPortal(r.params);
    } else if (r.path === '/audit') {
      markNav('audit');
      document.title = 'Audit log - chanreg';
      done = renderAudit(r.params);
    } else {
      markNav('catalog');
      document.title = 'Catalog - chanreg';
      done = renderCatalog(r.params);
    }
    return Promise.resolve(done).then(function () {
      document.body.setAttribute('data-ready', r.path + (window.location.hash || ''));
    });
  }

  window.addEventListener('hashchange', function () {
    document.body.removeAttribute('data-ready');
    route();
  });
  refreshSession().then(route);
})();
