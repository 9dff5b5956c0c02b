/*
 * Flask-Strapi-Sessions demo page — plain JavaScript, no framework, no build step.
 *
 * Two "origins" are driven side by side:
 *   up    — the content API (Strapi users-permissions) mounted at /api
 *   admin — the back office mounted at /admin
 *
 * Rules this page follows:
 *   - Access tokens live only in JS memory (state.<origin>.jwt), never in web storage.
 *   - Refresh tokens live only in HttpOnly cookies the server sets; JS never sees them.
 *   - A silent refresh runs on page load, a little before the access token expires,
 *     and once after any 401 (then the failed request is retried once).
 *   - Across tabs, only one refresh per origin is in flight (Web Locks), and a fresh
 *     token is shared with the other tabs (BroadcastChannel).
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------------------
  // Per-origin configuration: routes and response shapes.
  // ---------------------------------------------------------------------------
  const ORIGINS = {
    up: {
      cookieHeader: true, // ask for cookie mode: x-strapi-refresh-cookie: httpOnly
      loginPath: '/api/auth/local',
      registerPath: '/api/auth/local/register',
      parseAuth: (d) => ({ jwt: d && d.jwt, user: d && d.user }),
      refreshPath: '/api/auth/refresh',
      parseRefresh: (d) => d && d.jwt,
      logoutPath: '/api/auth/logout',
      mePath: '/api/users/me',
      parseMe: (d) => d, // bare user object
      sessionsPath: '/api/auth/sessions',
      sessionPath: (id) => '/api/auth/sessions/' + encodeURIComponent(id),
      describeUser: (u) => [u.username, u.email && '<' + u.email + '>'].filter(Boolean).join(' '),
    },
    admin: {
      cookieHeader: false, // admin always uses its cookie (Path=/admin)
      loginPath: '/admin/login',
      registerPath: '/admin/register-admin',
      parseAuth: (d) => {
        const data = (d && d.data) || {};
        return { jwt: data.token || data.accessToken, user: data.user };
      },
      refreshPath: '/admin/access-token',
      parseRefresh: (d) => d && d.data && d.data.token,
      logoutPath: '/admin/logout',
      mePath: '/admin/users/me',
      parseMe: (d) => d && d.data,
      sessionsPath: '/admin/users/me/sessions',
      sessionPath: (id) => '/admin/users/me/sessions/' + encodeURIComponent(id),
      describeUser: (u) => {
        const name = [u.firstname, u.lastname].filter(Boolean).join(' ');
        return [name, u.email && '<' + u.email + '>'].filter(Boolean).join(' ');
      },
    },
  };
  const ALIASES = { 'users-permissions': 'up', api: 'up' };
  const ENDED_MESSAGE = 'Your session has ended — please log in again.';

  // In-memory state, exposed to tests as window.fss.state.
  const blank = () => ({ jwt: null, claims: null, user: null, sessions: [], legacy: false, ended: false });
  const state = { up: blank(), admin: blank() };
  // Content-API mode: 'unknown' until the refresh endpoint answered ('legacy' on 404).
  const modes = { up: 'unknown', admin: 'refresh' };

  const timers = {};     // scheduled silent refresh per origin
  const inflight = {};   // in-tab refresh promise per origin (dedupes concurrent callers)
  const accountLoads = {}; // in-tab "load user + sessions" promise per origin
  const channels = {};   // BroadcastChannel per origin

  const hasLocks = !!(navigator.locks && navigator.locks.request);
  const hasChannel = typeof BroadcastChannel === 'function';

  // ---------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const el = (o, name) => $(o + '-' + name);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const norm = (o) => ALIASES[o] || o;

  /** Decode a JWT payload (no verification — display and scheduling only). */
  function decodeJwt(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(
        atob(part + '==='.slice((part.length + 3) % 4))
          .split('')
          .map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
          .join('')
      );
      return JSON.parse(json);
    } catch (e) {
      return null;
    }
  }

  /** Seconds until the token expires (Infinity when it has no exp). */
  function secondsLeft(claims) {
    return claims && typeof claims.exp === 'number' ? claims.exp - Date.now() / 1000 : Infinity;
  }

  function formatDuration(s) {
    s = Math.max(0, Math.floor(s));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return d + 'd ' + h + 'h ' + m + 'm';
    if (h) return h + 'h ' + m + 'm ' + sec + 's';
    if (m) return m + 'm ' + sec + 's';
    return sec + 's';
  }

  function formatDate(value) {
    if (!value) return '—';
    const d = new Date(value);
    return isNaN(d) ? String(value) : d.toLocaleString();
  }

  // ---------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------
  /**
   * One fetch to the backend. Never throws: resolves to
   * { ok, status, data, message } where message is the server's error.message.
   */
  async function request(method, path, opts) {
    opts = opts || {};
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    if (opts.cookieMode) headers['x-strapi-refresh-cookie'] = 'httpOnly';

    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, data: null, message: 'Network error — is the server running?' };
    }
    let data = null;
    try {
      const text = await res.text();
      data = text ? JSON.parse(text) : null;
    } catch (e) { /* non-JSON body */ }

    let message = '';
    if (!res.ok) {
      message = (data && data.error && data.error.message) || 'Request failed (HTTP ' + res.status + ')';
      if (res.status === 429) message += ' You have been rate-limited; wait a moment before retrying.';
    }
    return { ok: res.ok, status: res.status, data, message };
  }

  /**
   * A Bearer-authenticated call. Refreshes first when the token is about to expire;
   * on a 401 refreshes once and retries once.
   */
  async function authed(o, method, path, body, cookieMode) {
    const s = state[o];
    if (s.jwt && !s.legacy && secondsLeft(s.claims) < 2) await refresh(o, { stale: s.jwt });

    const used = state[o].jwt;
    let res = await request(method, path, { body, token: used, cookieMode });
    if (res.status !== 401) return res;

    if (state[o].legacy) { // no refresh in legacy mode: the token is simply dead
      if (used) endSession(o);
      return res;
    }
    const fresh = await refresh(o, { stale: used });
    if (!fresh) return res; // refresh() already cleared state / showed the ended message
    res = await request(method, path, { body, token: fresh, cookieMode });
    if (res.status === 401) endSession(o); // even a brand-new token is refused
    return res;
  }

  // ---------------------------------------------------------------------------
  // Silent refresh, coordinated across tabs
  // ---------------------------------------------------------------------------
  /** Run fn while holding the per-origin cross-tab lock (or directly without Web Locks). */
  function withLock(o, fn) {
    return hasLocks ? navigator.locks.request('fss-refresh-' + o, fn) : fn();
  }

  /** Is this token a usable replacement for `stale`? */
  function usable(token, stale) {
    return !!token && token !== stale && secondsLeft(decodeJwt(token)) > 2;
  }

  /**
   * Obtain a fresh access token from the refresh cookie. Resolves to the token,
   * or null when there is no session (state is then cleared).
   * opts.stale: the token that is known to be bad/expiring (defaults to the current one).
   */
  function refresh(o, opts) {
    o = norm(o);
    if (inflight[o]) return inflight[o];
    const stale = opts && 'stale' in opts ? opts.stale : state[o].jwt;
    if (opts && opts.stale && usable(state[o].jwt, stale)) return Promise.resolve(state[o].jwt);

    inflight[o] = withLock(o, async () => {
      // While we waited for the lock another tab may have refreshed and broadcast
      // its token; give pending messages a moment to arrive, then reuse it.
      if (hasLocks && hasChannel) await sleep(25);
      if (usable(state[o].jwt, stale)) return state[o].jwt;
      return refreshRequest(o);
    }).finally(() => { inflight[o] = null; });
    return inflight[o];
  }

  /** The actual POST to the refresh endpoint (call only while holding the lock). */
  async function refreshRequest(o) {
    const cfg = ORIGINS[o];
    const wasSignedIn = !!(state[o].jwt || state[o].user);
    const call = () => request('POST', cfg.refreshPath, { body: {}, cookieMode: cfg.cookieHeader });
    let res = await call();
    if (res.status === 401 && !hasLocks && wasSignedIn) {
      // Without Web Locks another tab may have rotated the shared cookie at the same
      // moment; the browser now holds its successor, so try once more with that.
      await sleep(200 + Math.random() * 300);
      res = await call();
    }

    if (o === 'up' && res.status !== 404 && res.status >= 200 && res.status < 500) setMode('refresh');
    if (res.ok && cfg.parseRefresh(res.data)) {
      const jwt = cfg.parseRefresh(res.data);
      setToken(o, jwt);
      broadcast(o, { type: 'token', jwt, user: state[o].user });
      return jwt;
    }
    if (o === 'up' && res.status === 404) { // legacy-support mode: no refresh endpoint
      setMode('legacy');
      if (wasSignedIn && secondsLeft(state.up.claims) <= 0) endSession(o);
      return null;
    }
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      // No (valid) refresh cookie: the session is over. Say so only if we had one.
      if (wasSignedIn) {
        endSession(o);
        broadcast(o, { type: 'ended' });
      }
      return null;
    }
    // Transient trouble (network, 429, 5xx): keep the current token, retry soon.
    setStatus(o, 'Could not refresh the session: ' + res.message, 'error');
    if (state[o].jwt) {
      clearTimeout(timers[o]);
      timers[o] = setTimeout(() => refresh(o), 5000);
    }
    return null;
  }

  /** Plan the next silent refresh a little before the access token expires. */
  function scheduleRefresh(o) {
    clearTimeout(timers[o]);
    const s = state[o];
    if (!s.jwt || s.legacy || !s.claims || typeof s.claims.exp !== 'number') return;
    const lifetime = s.claims.exp - (s.claims.iat || Date.now() / 1000);
    let lead = Math.min(60, Math.max(1, lifetime * 0.2)); // seconds before exp
    if (!hasLocks) lead *= 1 + Math.random() * 0.5; // jitter: tabs rarely refresh at once
    const delay = Math.min(2 ** 31 - 1, Math.max(500, (s.claims.exp - lead) * 1000 - Date.now()));
    timers[o] = setTimeout(() => refresh(o), delay);
  }

  // ---------------------------------------------------------------------------
  // Cross-tab messages
  // ---------------------------------------------------------------------------
  function broadcast(o, msg) {
    if (channels[o]) {
      try { channels[o].postMessage(msg); } catch (e) { /* channel closed */ }
    }
  }

  function onMessage(o, msg) {
    if (!msg || typeof msg !== 'object') return;
    const s = state[o];
    if (msg.type === 'token' && typeof msg.jwt === 'string' && msg.jwt !== s.jwt) {
      // Another tab refreshed or logged in; the cookie is shared, so adopt its token.
      const before = s.claims;
      setToken(o, msg.jwt);
      const after = s.claims || {};
      const sameUser = before && String(before.userId ?? before.id) === String(after.userId ?? after.id);
      if (msg.user) s.user = msg.user;
      if (!sameUser || !s.user) loadAccount(o);
      else render(o);
    } else if ((msg.type === 'logout' || msg.type === 'ended') && (s.jwt || s.user)) {
      endSession(o, msg.type === 'logout'
        ? 'Your session has ended — you logged out in another tab. Please log in again.'
        : ENDED_MESSAGE);
    }
  }

  // ---------------------------------------------------------------------------
  // State transitions
  // ---------------------------------------------------------------------------
  function setToken(o, jwt) {
    const s = state[o];
    s.jwt = jwt;
    s.claims = decodeJwt(jwt);
    s.ended = false;
    // A legacy token is {id, iat, exp} with no sessionId: another hint for legacy mode.
    if (o === 'up' && s.claims && s.claims.id !== undefined && !s.claims.sessionId) setMode('legacy');
    if (o === 'admin') showAdminRegistration(false); // someone is signed in: an admin exists
    hideEnded(o);
    scheduleRefresh(o);
    render(o);
  }

  function clearState(o) {
    clearTimeout(timers[o]);
    Object.assign(state[o], blank(), { legacy: modes[o] === 'legacy' });
    el(o, 'me-result').hidden = true;
    render(o);
  }

  /** The session is gone: clear everything and show the visible "ended" alert. */
  function endSession(o, message) {
    clearState(o);
    state[o].ended = true;
    const box = el(o, 'ended');
    box.hidden = false;
    box.textContent = message || ENDED_MESSAGE;
    setStatus(o, '');
    render(o);
  }

  function hideEnded(o) {
    el(o, 'ended').hidden = true;
    el(o, 'ended').textContent = '';
  }

  /** Record the content API's mode ('refresh' or 'legacy'). */
  function setMode(mode) {
    if (modes.up === mode) return;
    modes.up = mode;
    state.up.legacy = mode === 'legacy';
    if (state.up.legacy) clearTimeout(timers.up);
    render('up');
  }

  // ---------------------------------------------------------------------------
  // Actions
  // ---------------------------------------------------------------------------
  /** Fetch the user and the session list after a token appeared without a user. */
  function loadAccount(o) {
    if (accountLoads[o]) return accountLoads[o];
    accountLoads[o] = (async () => {
      const res = await authed(o, 'GET', ORIGINS[o].mePath);
      if (res.ok) {
        state[o].user = ORIGINS[o].parseMe(res.data);
        render(o);
        await loadSessions(o);
      } else if (state[o].jwt) {
        setStatus(o, res.message, 'error');
      }
    })().finally(() => { accountLoads[o] = null; });
    return accountLoads[o];
  }

  async function loadSessions(o) {
    if (!state[o].jwt || state[o].legacy) return;
    const res = await authed(o, 'GET', ORIGINS[o].sessionsPath);
    if (res.ok) {
      state[o].sessions = (res.data && res.data.data) || [];
    } else if (o === 'up' && res.status === 404) {
      setMode('legacy');
    } else if (state[o].jwt) {
      setStatus(o, 'Could not load sessions: ' + res.message, 'error');
    }
    render(o);
  }

  /** Log in or register; both answer with an access token and the user. */
  async function authenticate(o, kind, form) {
    const cfg = ORIGINS[o];
    const f = form.elements;
    let body;
    if (o === 'up') {
      body = kind === 'login'
        ? { identifier: f.identifier.value.trim(), password: f.password.value }
        : { username: f.username.value.trim(), email: f.email.value.trim(), password: f.password.value };
    } else {
      body = kind === 'login'
        ? { email: f.email.value.trim(), password: f.password.value, rememberMe: f.rememberMe.checked }
        : { email: f.email.value.trim(), firstname: f.firstname.value.trim(),
            lastname: f.lastname.value.trim() || undefined, password: f.password.value };
    }

    setStatus(o, kind === 'login' ? 'Logging in…' : 'Registering…');
    const path = kind === 'login' ? cfg.loginPath : cfg.registerPath;
    const res = await request('POST', path, { body, cookieMode: cfg.cookieHeader });
    const auth = res.ok ? cfg.parseAuth(res.data) : {};
    if (!auth.jwt) {
      setStatus(o, res.message || 'Unexpected answer from the server.', 'error');
      return;
    }
    // Note: any refreshToken in the body is deliberately ignored — cookie mode only.
    form.reset();
    state[o].user = auth.user || null;
    setToken(o, auth.jwt);
    broadcast(o, { type: 'token', jwt: auth.jwt, user: auth.user || null });
    setStatus(o, (kind === 'login' ? 'Logged in' : 'Registered and logged in') + '.', 'success');
    el(o, 'account-title').focus();
    if (!state[o].user) await loadAccount(o);
    else await loadSessions(o);
  }

  async function callMe(o) {
    o = norm(o);
    const res = await authed(o, 'GET', ORIGINS[o].mePath);
    const out = el(o, 'me-result');
    if (res.ok) {
      const user = ORIGINS[o].parseMe(res.data);
      state[o].user = user;
      out.textContent = JSON.stringify(user, null, 2);
      out.hidden = !state[o].jwt;
      setStatus(o, '/users/me answered 200.', 'success');
      render(o);
      return user;
    }
    if (!state[o].ended) setStatus(o, res.message, 'error');
    return null;
  }

  async function revokeSession(o, id) {
    const res = await authed(o, 'DELETE', ORIGINS[o].sessionPath(id));
    if (res.ok) setStatus(o, 'Session revoked.', 'success');
    else if (!state[o].ended) setStatus(o, res.message, 'error');
    return res.ok;
  }

  /** "Log out everywhere else": revoke every non-current session, one by one. */
  async function revokeOthers(o) {
    await loadSessions(o);
    const others = state[o].sessions.filter((x) => !x.current);
    let done = 0;
    for (const sess of others) {
      const res = await authed(o, 'DELETE', ORIGINS[o].sessionPath(sess.id));
      if (res.ok || res.status === 404) done += 1; // 404: already gone
      else { setStatus(o, res.message, 'error'); break; }
    }
    if (!state[o].jwt) return;
    if (done === others.length) {
      setStatus(o, others.length
        ? 'Logged out ' + done + ' other session' + (done === 1 ? '' : 's') + '.'
        : 'There are no other sessions.', 'success');
    }
    await loadSessions(o);
  }

  async function logout(o, everywhere) {
    o = norm(o);
    const cfg = ORIGINS[o];
    if (state[o].jwt && !(o === 'up' && state.up.legacy)) {
      const body = everywhere ? { scope: 'all' } : {};
      const res = await authed(o, 'POST', cfg.logoutPath, body, cfg.cookieHeader);
      if (state[o].ended) return; // the session was already over (401 and refresh failed)
      if (!res.ok) { // keep the session: the cookie is still there, so we are not logged out
        setStatus(o, 'Logout failed: ' + res.message, 'error');
        return;
      }
    }
    clearState(o);
    hideEnded(o);
    broadcast(o, { type: 'logout' });
    setStatus(o, everywhere ? 'Logged out on all devices.' : 'Logged out.', 'success');
  }

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------
  function setStatus(o, text, kind) {
    const box = el(o, 'status');
    box.textContent = text || '';
    box.dataset.kind = text ? kind || 'info' : '';
  }

  function render(o) {
    const s = state[o];
    const signedIn = !!s.jwt;
    const panel = el(o, 'panel');
    panel.dataset.state = signedIn ? 'logged-in' : s.ended ? 'ended' : 'logged-out';
    panel.dataset.mode = modes[o];
    if (o === 'up') {
      el(o, 'mode-note').hidden = !s.legacy;
      el(o, 'sessions-section').hidden = s.legacy;
      el(o, 'refresh-now').hidden = s.legacy;
      el(o, 'logout-all').hidden = s.legacy;
    }
    el(o, 'logged-out').hidden = signedIn;
    el(o, 'account').hidden = !signedIn;
    el(o, 'badge').textContent = signedIn ? 'Signed in' : 'Signed out';
    el(o, 'badge').classList.toggle('pill-on', signedIn);
    el(o, 'user').textContent = s.user ? ORIGINS[o].describeUser(s.user) : signedIn ? 'Loading…' : '';
    renderExpiry(o);
    renderSessions(o);
  }

  function renderExpiry(o) {
    const box = el(o, 'token-exp');
    const claims = state[o].claims;
    if (!state[o].jwt || !claims || typeof claims.exp !== 'number') {
      box.textContent = state[o].jwt ? 'No expiry' : '';
      delete box.dataset.exp;
      return;
    }
    const left = secondsLeft(claims);
    box.dataset.exp = String(claims.exp);
    box.dataset.secondsLeft = String(Math.max(0, Math.floor(left)));
    const at = new Date(claims.exp * 1000).toLocaleTimeString();
    box.textContent = left > 0 ? 'Expires in ' + formatDuration(left) + ' (at ' + at + ')' : 'Expired at ' + at;
    box.classList.toggle('warn', left < 60);
  }

  function renderSessions(o) {
    const list = el(o, 'sessions');
    const sessions = state[o].jwt ? state[o].sessions : [];
    list.replaceChildren(...sessions.map((sess) => sessionItem(o, sess)));
    el(o, 'sessions-empty').hidden = sessions.length > 0;
    el(o, 'revoke-others').disabled = !sessions.some((x) => !x.current);
  }

  function sessionItem(o, sess) {
    const li = document.createElement('li');
    li.className = 'session' + (sess.current ? ' session-current' : '');
    li.dataset.testid = o + '-session';
    li.dataset.sessionId = sess.id;
    li.dataset.current = String(!!sess.current);
    li.title = sess.deviceId ? 'Device ID: ' + sess.deviceId : '';

    const device = sess.deviceName || 'Unknown device';
    const head = document.createElement('div');
    head.className = 'session-head';
    const name = document.createElement('strong');
    name.className = 'session-device';
    name.dataset.testid = o + '-session-device';
    name.textContent = device;
    head.append(name);
    if (sess.current) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.dataset.testid = o + '-session-current-badge';
      badge.textContent = 'This device';
      head.append(badge);
    }

    const meta = document.createElement('p');
    meta.className = 'session-meta muted';
    meta.append(timeEl('Signed in ', sess.loginAt, o + '-session-login-at'), document.createTextNode(' · '),
      timeEl('Last used ', sess.lastActiveAt, o + '-session-last-active'));

    li.append(head, meta);
    if (!sess.current) {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'btn btn-danger-outline btn-small session-revoke';
      btn.id = o + '-revoke-' + sess.id;
      btn.dataset.testid = o + '-session-revoke';
      btn.dataset.sessionId = sess.id;
      btn.textContent = 'Revoke';
      btn.setAttribute('aria-label', 'Revoke the session on ' + device + ', signed in ' + formatDate(sess.loginAt));
      li.append(btn);
    }
    return li;
  }

  function timeEl(label, value, testid) {
    const span = document.createElement('span');
    span.dataset.testid = testid;
    const t = document.createElement('time');
    if (value) t.dateTime = value;
    t.textContent = formatDate(value);
    span.append(label, t);
    return span;
  }

  function showAdminRegistration(show) {
    $('admin-register-form').hidden = !show;
    $('admin-has-admin-note').hidden = show;
  }

  // ---------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------
  /** Disable a control while its async action runs, so double clicks don't double-submit. */
  function busy(button, fn) {
    return async (event) => {
      if (event) event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      try { await fn(event); } finally {
        button.disabled = false;
        button.removeAttribute('aria-busy');
        ['up', 'admin'].forEach(renderSessions); // restores "revoke others" disabled state
      }
    };
  }

  function wire(o) {
    if (hasChannel) {
      channels[o] = new BroadcastChannel('fss-' + o);
      channels[o].onmessage = (e) => onMessage(o, e.data);
    }
    for (const kind of ['login', 'register']) {
      const form = el(o, kind + '-form');
      form.addEventListener('submit', busy(el(o, kind + '-submit'), () => authenticate(o, kind, form)));
    }
    el(o, 'call-me').addEventListener('click', busy(el(o, 'call-me'), () => callMe(o)));
    el(o, 'refresh-now').addEventListener('click', busy(el(o, 'refresh-now'), async () => {
      const jwt = await refresh(o, { stale: state[o].jwt });
      if (jwt) setStatus(o, 'Access token refreshed.', 'success');
    }));
    el(o, 'sessions-reload').addEventListener('click', busy(el(o, 'sessions-reload'), () => loadSessions(o)));
    el(o, 'revoke-others').addEventListener('click', busy(el(o, 'revoke-others'), () => revokeOthers(o)));
    el(o, 'logout').addEventListener('click', busy(el(o, 'logout'), () => logout(o, false)));
    el(o, 'logout-all').addEventListener('click', busy(el(o, 'logout-all'), () => logout(o, true)));
    // One delegated handler for the per-session "Revoke" buttons.
    el(o, 'sessions').addEventListener('click', (event) => {
      const btn = event.target.closest('button.session-revoke');
      if (!btn || btn.disabled) return;
      busy(btn, async () => {
        if (await revokeSession(o, btn.dataset.sessionId)) await loadSessions(o);
      })();
    });
  }

  /** Page load: find out whether a refresh cookie still holds a session. */
  async function initOrigin(o) {
    setStatus(o, 'Checking for an existing session…');
    await refresh(o, { stale: null });
    if (state[o].jwt && !state[o].user) await loadAccount(o);
    if (state[o].jwt) setStatus(o, 'Session restored.', 'success');
    else if (!state[o].ended && el(o, 'status').dataset.kind !== 'error') setStatus(o, '');
  }

  async function initAdminRegistration() {
    const res = await request('GET', '/admin/init');
    const info = res.ok && res.data && res.data.data;
    showAdminRegistration(!!info && !info.hasAdmin);
    if (!info) $('admin-has-admin-note').textContent = 'Could not check whether an administrator exists: ' +
      (res.message || 'unexpected answer') + '.';
  }

  async function init() {
    $('env-features').textContent =
      'Tab coordination: Web Locks ' + (hasLocks ? 'available' : 'unavailable (fallback)') +
      ' · BroadcastChannel ' + (hasChannel ? 'available' : 'unavailable (fallback)');
    wire('up');
    wire('admin');
    render('up');
    render('admin');

    // Live countdown for both access tokens.
    setInterval(() => { renderExpiry('up'); renderExpiry('admin'); }, 1000);

    // Background tabs have throttled timers: catch up when the tab becomes visible.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      for (const o of ['up', 'admin']) {
        const s = state[o];
        if (s.jwt && !s.legacy && secondsLeft(s.claims) < 60) refresh(o);
      }
    });

    await Promise.all([initOrigin('up'), initOrigin('admin'), initAdminRegistration()]);
    document.documentElement.dataset.ready = 'true';
  }

  // Debugging / test hook.
  let markReady;
  window.fss = {
    state,
    refresh: (o) => refresh(norm(o), { stale: state[norm(o)].jwt }),
    callMe: (o) => callMe(o),
    logout: (o, everywhere) => logout(o, !!everywhere),
    modes,
    features: { webLocks: hasLocks, broadcastChannel: hasChannel },
    ready: new Promise((r) => { markReady = r; }),
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => init().then(markReady));
  } else {
    init().then(markReady);
  }
})();
