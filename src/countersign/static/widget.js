/*! Countersign widget · one file, no build step · Apache-2.0 · docs/widget.md */
// <script src="https://HOST/widget.js" data-app-id="APP_ID" async></script>
// window.Countersign(command, ...args) queues commands until this file has run.
//
// The session token lives only in this closure: never in a URL or in storage, out of
// reach of other origins. Only the anonymous visitor id is stored (this page's
// localStorage); an identified user is identified again by the page on each load.
(() => {
  "use strict";
  if (window.__countersign) return; // included twice: the first copy runs
  window.__countersign = true;

  // The guide ships with Countersign (docs/widget.md); no public URL is assumed.
  const DOCS = "Countersign docs/widget.md";
  const REFUSED_DOCS = DOCS + "#when-identify-is-refused";
  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  // The API is wherever this script came from, path prefix included.
  const base = script ? script.src.replace(/[?#].*$/, "").replace(/\/[^/]*$/, "") : "";
  const CLAIM = ["user_id", "email", "user_hash", "user_jwt"];
  // Every hosted widget's names for each field (snake_case and camelCase): a migrating
  // team keeps its calls as they are.
  const both = (names) => names.split(" ").flatMap((n) => [n, n.replace(/_(\w)/g, (_, c) => c.toUpperCase())]);
  const ALIASES = Object.entries({
    user_id: "user_id subscriber_id external_id",
    email: "email user_email",
    user_hash: "user_hash hash signature user_signature subscriber_hash identifier_hash user_key",
    user_jwt: "user_jwt jwt user_token",
    user_metadata: "user_metadata metadata custom_attributes",
  }).map(([field, names]) => [field, both(names)]);
  // Widget settings that ride along in boot/update objects: never user metadata.
  const SETTINGS = both("app_id color action_color background_color alignment hide_default_launcher " +
    "horizontal_padding vertical_padding custom_launcher_selector language_override notification_toasts");

  let token = null; // the session token: this variable is its only home
  // The notification inbox of a session: counts, the view and category shown, preferences.
  const inbox = () => ({ counts: { unread: 0, unseen: 0, categories: {} }, nView: "inbox", nCat: null,
    prefs: null, prefsOpen: false, undo: null });
  const S = {
    appId: script?.getAttribute("data-app-id") || null, epoch: 0, contact: null, claim: null,
    identity: { status: "anonymous", reason: null }, seq: null, loaded: false, listed: false,
    convs: {}, msgs: {}, threads: {}, unseen: {}, typing: {}, notes: [], unread: 0, ...inbox(),
    toasts: true, open: false, view: "list", thread: null, applied: null, refused: null,
  };
  let want = null; // the identity the page asked for: claim fields + user_metadata
  let batch = null;
  let chain = Promise.resolve();
  const handlers = {};
  const noop = () => {};
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const warn = (text) => console.warn("Countersign: " + text);
  const uuid = () => crypto.randomUUID ? crypto.randomUUID() // secure contexts only
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  const emit = (name, data) => (handlers[name] || []).forEach((fn) => {
    try { fn(data); } catch (e) { setTimeout(() => { throw e; }); }
  });
  const enqueue = (fn) => {
    const run = chain.then(fn);
    chain = run.catch(noop);
    return run;
  };

  // ---- storage: the anonymous visitor id, and whether the app refused anonymous
  // visitors (verified-only: the widget then shows nothing), namespaced per app
  const visitorKey = (k = "visitor") => `countersign:${S.appId}:${k}`;
  const gate = (on) => {
    S.gated = on;
    try { on ? localStorage.setItem(visitorKey("gated"), "1") : localStorage.removeItem(visitorKey("gated")); } catch { /* blocked */ }
    render();
  };
  const loadVisitor = (k) => { try { return localStorage.getItem(visitorKey(k)); } catch { return null; } };
  const saveVisitor = (id) => {
    try { id ? localStorage.setItem(visitorKey(), id) : localStorage.removeItem(visitorKey()); }
    catch { /* storage blocked: the visitor is new on each page load */ }
  };

  // ---- the API
  const apiError = (status, code, message) => Object.assign(new Error(message), { status, code });
  const STALE = apiError(-1, "stale", "the session changed");

  async function api(method, path, body, bearer = token) {
    const epoch = S.epoch;
    const headers = body ? { "Content-Type": "application/json" } : {};
    if (bearer) headers.Authorization = "Bearer " + bearer;
    let response, doc;
    try {
      response = await fetch(base + path, {
        method, headers, body: body && JSON.stringify(body), credentials: "omit",
        cache: "no-store", keepalive: path.endsWith("/logout"),
      });
      doc = JSON.parse((await response.text()) || "null");
    } catch { /* unreachable, or not JSON */ }
    if (epoch !== S.epoch) throw STALE; // an answer for an earlier session: someone else's
    if (!response) throw apiError(0, "network_error", "the Countersign server could not be reached");
    if (response.ok) return doc;
    const { code = "http_" + response.status, message = response.statusText } = doc?.error || {};
    if (code === "invalid_session" && bearer && bearer === token) renew();
    throw apiError(response.status, code, message);
  }

  // ---- identity
  // Any supported call shape → {user_id?, email?, user_hash?, user_jwt?, user_metadata}.
  function person(o) {
    const out = { user_metadata: {} };
    const used = new Set(SETTINGS);
    for (const [field, keys] of ALIASES) {
      for (const k of keys) {
        if (!has(o, k)) continue;
        used.add(k);
        if (o[k] == null) continue;
        if (field === "user_metadata") Object.assign(out.user_metadata, o[k]);
        else if (out[field] === undefined) out[field] = o[k];
      }
    }
    for (const k in o) { // name, plan, created_at, ...: unverified metadata
      if (has(o, k) && !used.has(k) && o[k] !== undefined && typeof o[k] !== "function") out.user_metadata[k] = o[k];
    }
    return out;
  }
  const claims = (p) => !!p && (p.user_id != null || p.email != null || p.user_jwt != null);
  function settings(o) {
    if (!o) return;
    const id = o.app_id || o.appId;
    if (id && !S.appId) S.appId = String(id); // the tag's data-app-id wins
    if (o.color) S.color = String(o.color);
    if (has(o, "hide_default_launcher")) S.hideLauncher = !!o.hide_default_launcher;
    if (has(o, "notification_toasts")) S.toasts = o.notification_toasts !== false;
    if (typeof o.refresh === "function") S.refresh = o.refresh; // async () => a new user_jwt
    render();
  }
  // The identity commands of one tick are merged into one identify call.
  function change(fn) {
    if (!batch) {
      const b = (batch = { want: want && { ...want, user_metadata: { ...want.user_metadata } } });
      enqueue(() => {
        if (batch === b) batch = null;
        return apply(b.want);
      });
    }
    want = batch.want = fn(batch.want) || null;
  }
  const replace = (p) => change(() => p);
  const merge = (p) => change((w) => {
    w = w || { user_metadata: {} };
    if (claims(p)) CLAIM.forEach((k) => { w[k] = p[k]; });
    else if (p.user_hash !== undefined) w.user_hash = p.user_hash;
    Object.assign(w.user_metadata, p.user_metadata);
    return w;
  });
  function apply(w) {
    const key = JSON.stringify(w);
    if (key === S.applied && (token || !claims(w))) return;
    S.applied = key;
    // Anonymous drops an identified session; its own session starts when needed.
    if (claims(w) || token || S.identity.status !== "anonymous") return identify(w, 0, claims(w));
  }
  const anon = () => (want && !claims(want) ? { user_metadata: want.user_metadata } : null);
  const ensureSession = () => enqueue(() =>
    token || identify(claims(want) && S.refused !== S.applied ? want : anon(), 0, true));

  function endSession(wipe) {
    // Everything of the previous session goes, so the next person sees none of it; a
    // first session keeps what was typed before it existed.
    const first = !wipe && !token && !S.contact;
    S.epoch++;
    clearTimeout(refreshTimer);
    disconnect();
    token = null;
    Object.assign(S, {
      identity: { status: "anonymous", reason: null }, contact: null, claim: null, seq: null,
      loaded: false, listed: false, convs: {}, threads: {}, unseen: {}, typing: {}, notes: [], unread: 0, ...inbox(),
      msgs: first && S.msgs.new ? { new: S.msgs.new } : {},
    });
    if (!(first && S.thread === "new")) Object.assign(S, { view: "list", thread: null });
    // render() draws only the view shown: the hidden thread and inbox would keep the
    // previous person's messages in the page until next drawn.
    if (!first) { E.msgs?.replaceChildren(); E.notes?.replaceChildren(); }
    render();
  }
  async function identify(w, tries, force) {
    if (!S.appId) return warn("no app id: add data-app-id to the script tag");
    const body = { app_id: S.appId };
    const visitor = loadVisitor();
    if (visitor) body.visitor_id = visitor;
    CLAIM.forEach((k) => { if (w?.[k] != null && w[k] !== "") body[k] = w[k]; });
    if (w && Object.keys(w.user_metadata || {}).length) body.user_metadata = w.user_metadata;
    const claimed = claims(body);
    const old = token;
    endSession();
    if (!force && !claimed && !S.open && !visitor) {
      // A first-time anonymous visitor gets a session when they open the widget.
      if (old) api("POST", "/v1/widget/logout", undefined, old).catch(noop);
      return emit("identity", who());
    }
    const epoch = S.epoch;
    let doc;
    try {
      // The token of the session this replaces proves the browser is the same one, so
      // a change of identity ends that session everywhere (a visitor id alone cannot).
      doc = await api("POST", "/v1/widget/identify", body, old);
    } catch (e) {
      return e === STALE ? undefined : failed(e, w, tries, claimed);
    }
    token = doc.session_token;
    saveVisitor(doc.visitor_id);
    if (S.gated) gate(false);
    Object.assign(S, { identity: doc.identity, contact: doc.contact, claim: w, refused: null });
    if (claimed && doc.identity.status !== "verified") {
      warn(`identity not verified (${doc.identity.reason}): continuing ${doc.identity.status}. See ${REFUSED_DOCS}`);
    }
    for (const x of doc.warnings || []) warn("user_metadata: " + (x.message || JSON.stringify(x)));
    emit("identity", who());
    render();
    connect();
    refreshSoon(doc);
    // Data loads when the stream is ready, so no event falls in between (or anyway, late).
    setTimeout(() => epoch === S.epoch && !S.loaded && load(), 2500);
  }
  function failed(e, w, tries, claimed) {
    S.identity = { status: "anonymous", reason: e.code };
    if (e.code === "identity_required") {
      // A verified-only app: no messenger for a visitor it has not verified.
      S.open = false;
      gate(true);
      emit("identity", who());
      return warn(`this app accepts only verified users: the widget stays hidden. See ${REFUSED_DOCS}`);
    }
    render();
    if (e.status === 0 || e.status >= 500) {
      const key = S.applied;
      if (tries < 6) {
        setTimeout(() => S.applied === key && !token && enqueue(() => identify(w, tries + 1, true)), 1000 * 2 ** tries);
      }
      return warn(`could not reach the server (${e.code}); trying again`);
    }
    if (!claimed) return warn(`could not start a session: ${e.code} (${e.message})`);
    S.refused = S.applied;
    const why = e.code === "identity_verification_failed" ? "user_hash must be HMAC-SHA256(secret, user id), made on your server" : e.message;
    warn(`identify refused: ${e.code} (HTTP ${e.status}): ${why}. The widget stays anonymous. See ${REFUSED_DOCS}`);
    emit("refused", { code: e.code, status: e.status, message: e.message });
    emit("identity", who());
    if (S.open) return identify(null, 0, true);
  }
  let renewedAt = 0;
  function renew() {
    // The session expired or was revoked: identify again with what the page gave us,
    // or with a new token from the page's refresh.
    if (Date.now() - renewedAt < 10000) return;
    renewedAt = Date.now();
    const claim = S.claim;
    enqueue(() => (S.refresh && claim?.user_jwt ? refreshToken() : identify(claim, 0, true)));
  }
  // ---- token refresh: shortly before the session's end (a token's exp bounds it), the
  // page's refresh() gives a new user_jwt; the same user keeps conversation and stream.
  let refreshTimer;
  function refreshSoon(doc) {
    clearTimeout(refreshTimer);
    if (!S.refresh || !S.claim?.user_jwt) return;
    const left = Date.parse(doc.expires_at) - Date.now();
    const epoch = S.epoch;
    refreshTimer = setTimeout(() => epoch === S.epoch && enqueue(refreshToken),
      Math.max(0, left - Math.max(5000, Math.min(60000, left / 10))));
  }
  const subject = (jwt) => {
    try {
      const c = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return JSON.stringify([c.sub ?? null, c.email ?? null]);
    } catch { return null; }
  };
  async function refreshToken() {
    const claim = S.claim, epoch = S.epoch;
    let jwt;
    try { jwt = await S.refresh(); } catch (e) { return warn(`refresh failed: ${e?.message || e}`); }
    if (epoch !== S.epoch || !claim?.user_jwt || typeof jwt !== "string" || !jwt) return;
    const next = { ...claim, user_jwt: jwt };
    if (subject(jwt) !== subject(claim.user_jwt)) { // another user: a logout, then them
      logout();
      return replace({ user_jwt: jwt, user_metadata: {} });
    }
    const body = { app_id: S.appId, visitor_id: loadVisitor() };
    CLAIM.forEach((k) => { if (next[k] != null && next[k] !== "") body[k] = next[k]; });
    if (Object.keys(next.user_metadata || {}).length) body.user_metadata = next.user_metadata;
    let doc;
    try {
      doc = await api("POST", "/v1/widget/identify", body, token); // the same browser
    } catch (e) {
      return e === STALE ? undefined : identify(next, 0, true);
    }
    if (doc.contact.id !== S.contact?.id || doc.visitor_id !== body.visitor_id) return identify(next, 0, true);
    token = doc.session_token;
    S.claim = next;
    if (want && want.user_jwt === claim.user_jwt) S.applied = JSON.stringify(Object.assign(want, { user_jwt: jwt }));
    disconnect(); // the stream reconnects with the new token and resumes from S.seq
    connect();
    refreshSoon(doc);
  }
  function logout() {
    batch = want = S.applied = S.refused = null;
    return enqueue(async () => {
      const old = token;
      endSession(true);
      saveVisitor(null); // the next person on this computer is a new visitor
      emit("identity", who());
      if (old) await api("POST", "/v1/widget/logout", undefined, old).catch(noop);
      if (S.open) return identify(null, 0, true);
    });
  }
  const displayName = (c = S.contact || {}) => c.name || c.metadata?.name || c.email || c.user_id || null;
  const who = () => ({
    status: S.identity.status, reason: S.identity.reason || null, name: displayName(),
    user_id: S.contact?.user_id || null, email: S.contact?.email || null,
  });

  // ---- data
  function load() {
    S.loaded = true;
    api("GET", "/v1/widget/conversations?limit=50").then((doc) => {
      // The badge comes from the stored read position: right on every device.
      doc.data.forEach((c) => { addConv(c); if (c.unread_count) S.unseen[c.id] = true; });
      S.listed = true;
      render();
    }, noop);
    if (S.identity.status === "verified") {
      loadNotes();
      api("GET", "/v1/widget/notifications/counts").then(setCounts, noop);
      loadPrefs();
    }
    if (S.view === "thread" && S.thread !== "new") loadThread(S.thread);
  }
  // ---- the notification inbox: what the open view shows, kept in step with the stream
  const fits = (n) => (S.nCat == null || n.category === S.nCat) && (S.nView === "archived"
    ? !!n.archived_at : !n.archived_at && (S.nView !== "unread" || !n.read_at));
  const byTime = (a, b) => (a.created_at < b.created_at ? 1 : -1);
  const noteQuery = () => (S.nView === "inbox" ? "" : "&status=" + S.nView)
    + (S.nCat ? "&category=" + encodeURIComponent(S.nCat) : "");
  function loadNotes() {
    const q = noteQuery();
    api("GET", "/v1/widget/notifications?limit=50" + q).then((doc) => {
      if (q !== noteQuery()) return; // the user switched views meanwhile
      const known = new Set(doc.data.map((n) => n.id));
      S.notes = doc.data.concat(S.notes.filter((n) => !known.has(n.id) && fits(n))).sort(byTime);
      render();
    }, noop);
  }
  function setCounts(counts) {
    if (!counts) return;
    S.counts = counts;
    S.unread = counts.unread;
    render();
  }
  // A notification as it now is: shown if the open view wants it, dropped if not.
  function putNote(n) {
    const i = S.notes.findIndex((x) => x.id === n.id);
    if (i >= 0) S.notes[i] = Object.assign(S.notes[i], n);
    else if (fits(n)) S.notes.push(n);
    S.notes = S.notes.filter(fits).sort(byTime);
  }
  const looking = () => S.open && S.view === "notifications" && !document.hidden;
  function markSeen() {
    if (E.toast) E.toast.hidden = true; // the list itself is in view now
    if (!S.counts.unseen || S.identity.status !== "verified") return;
    S.counts = { ...S.counts, unseen: 0 }; // the badge clears now; the server agrees below
    render();
    api("POST", "/v1/widget/notifications/seen").then(setCounts, noop);
  }
  function noteEvent(type, d) {
    const now = new Date().toISOString();
    if (type === "notification.created") {
      if (S.notes.some((n) => n.id === d.id)) return;
      putNote(d);
      const c = S.counts;
      const cat = c.categories[d.category] || { unread: 0 };
      S.counts = { unread: c.unread + 1, unseen: c.unseen + 1,
        categories: { ...c.categories, [d.category]: { unread: cat.unread + 1 } } };
      S.unread = S.counts.unread;
      if (looking()) markSeen();
      else toast(d);
    } else if (type === "notification.deleted") {
      S.notes = S.notes.filter((n) => n.id !== d.id);
    } else if (type === "notification.read_all" || type === "notification.archived_all") {
      const ids = new Set(d.ids || []);
      const field = type === "notification.read_all" ? { read: true, read_at: now } : { archived_at: now };
      S.notes.forEach((n) => { if (ids.has(n.id)) Object.assign(n, field); });
      S.notes = S.notes.filter(fits);
      if (type === "notification.archived_all" && S.nView === "archived") loadNotes();
    } else if (type === "preferences.updated") {
      S.prefs = d;
    } else if (d.id && type !== "notification.seen") {
      const { counts, unread_count, ...n } = d;
      putNote(n);
    }
    if (d.counts) setCounts(d.counts);
    else if (typeof d.unread_count === "number") S.unread = d.unread_count;
  }
  function toast(n) {
    if (!S.toasts || !root) return;
    clearTimeout(S.toastTimer);
    E.toast.replaceChildren(h("strong", { text: n.title }), n.body ? h("span", { text: n.body }) : null);
    E.toast.hidden = false;
    S.toastTimer = setTimeout(() => { E.toast.hidden = true; }, 4000);
  }
  function moveNote(n, to) {
    const undo = { archive: "unarchive", unarchive: "archive", read: "unread", unread: "read" }[to];
    return api("POST", `/v1/widget/notifications/${encodeURIComponent(n.id)}/${to}`, {}).then((doc) => {
      noteEvent("notification." + to, doc);
      api("GET", "/v1/widget/notifications/counts").then(setCounts, noop);
      render();
      return undo;
    });
  }
  function archiveNote(n) {
    const to = n.archived_at ? "unarchive" : "archive";
    moveNote(n, to).then(() => {
      clearTimeout(S.undo?.timer);
      S.undo = { n, to, timer: setTimeout(() => { S.undo = null; render(); }, 6000) };
      render();
    }, (e) => e !== STALE && warn(`${to} failed: ${e.code}`));
  }
  function undoMove() {
    const u = S.undo;
    if (!u) return;
    clearTimeout(u.timer);
    S.undo = null;
    moveNote(u.n, u.to === "archive" ? "unarchive" : "archive").catch(noop);
  }
  function everything(what) {
    const body = S.nCat ? { category: S.nCat } : {};
    api("POST", `/v1/widget/notifications/${what}-all`, body).then((doc) => {
      noteEvent(what === "read" ? "notification.read_all" : "notification.archived_all", doc);
      render();
    }, (e) => e !== STALE && warn(`${what}-all failed: ${e.code}`));
  }
  const loadPrefs = () => api("GET", "/v1/widget/preferences").then((doc) => { S.prefs = doc; render(); }, noop);
  function togglePrefs() {
    S.prefsOpen = !S.prefsOpen;
    if (S.prefsOpen) loadPrefs(); // a category first seen since the last look is listed
    render();
  }
  function choose(name, channel, on) {
    api("PUT", "/v1/widget/preferences", { categories: { [name]: { [channel]: on } } })
      .then((doc) => { S.prefs = doc; render(); }, (e) => { if (e !== STALE) { warn("preferences failed: " + e.code); render(); } });
  }
  const addConv = (c) => { S.convs[c.id] = Object.assign(S.convs[c.id] || {}, c); };
  const sortMsgs = (list) => list.sort((a, b) => (a.seq || 1e15) - (b.seq || 1e15));
  async function loadThread(id) {
    let got = [];
    let cursor = null;
    try {
      do {
        const q = cursor ? "&cursor=" + encodeURIComponent(cursor) : "";
        const doc = await api("GET", `/v1/widget/conversations/${encodeURIComponent(id)}/messages?limit=100${q}`);
        got = got.concat(doc.data);
        cursor = doc.next_cursor;
      } while (cursor && got.length < 2000);
    } catch { return; }
    const seen = new Set(got.flatMap((m) => [m.id, "c:" + m.client_id]));
    const local = (S.msgs[id] || []).filter((m) => !seen.has(m.id) && !seen.has("c:" + m.client_id));
    S.msgs[id] = sortMsgs(got.concat(local));
    S.threads[id] = S.scrollDown = true;
    if (got.length && S.convs[id]) S.convs[id].last = got[got.length - 1];
    render();
  }
  function upsertMessage(m, live) {
    const cid = m.conversation_id;
    const list = S.msgs[cid] || (S.msgs[cid] = []);
    const i = list.findIndex((x) => x.id === m.id || (m.client_id && x.client_id === m.client_id));
    if (i >= 0) {
      list[i].id = list[i].id || m.id; // confirms a pending send: no retry needed
      list[i] = m;
    } else list.push(m);
    sortMsgs(list);
    const c = S.convs[cid] || (S.convs[cid] = { id: cid, message_count: 0 });
    Object.assign(c, { last: m, updated_at: m.created_at, message_count: Math.max(c.message_count || 0, m.seq || 0) });
    const looking = S.open && S.view === "thread" && S.thread === cid && !document.hidden;
    if (live && m.author?.type !== "contact" && !looking) S.unseen[cid] = true;
    if (m.author?.type !== "contact") delete S.typing[cid];
  }
  // Typing and read receipts (SPEC 11): a typing signal has no seq and lasts ~5 s.
  function onLive(type, d) {
    const c = S.convs[d.conversation_id];
    if (type === "typing") {
      S.typing[d.conversation_id] = { name: d.author?.name || "Someone", until: Date.now() + 5000 };
      setTimeout(render, 5100);
    } else if (c && d.by === "contact") {
      c.read_up_to_seq = Math.max(c.read_up_to_seq || 0, d.up_to_seq);
      if (c.read_up_to_seq >= (c.last?.seq || 0)) delete S.unseen[c.id]; // read on another device
    } else if (c) c.seen_up_to_seq = Math.max(c.seen_up_to_seq || 0, d.up_to_seq);
  }
  function readThread(list) {
    const c = S.convs[S.thread];
    const last = list.filter((m) => m.seq).pop();
    if (!c || !last || !S.open || document.hidden || last.seq <= (c.read_up_to_seq || 0)) return;
    c.read_up_to_seq = last.seq;
    api("POST", `/v1/widget/conversations/${encodeURIComponent(c.id)}/read`, { up_to_seq: last.seq }).catch(noop);
  }
  let typedAt = 0;
  function typed() {
    if (!token || !S.convs[S.thread] || Date.now() - typedAt < 1000) return;
    typedAt = Date.now();
    api("POST", `/v1/widget/conversations/${encodeURIComponent(S.thread)}/typing`).catch(noop);
  }
  function onEvent(ev) {
    const d = ev.data || {};
    if (ev.type === "conversation.created") addConv(d);
    else if (ev.type === "message.created") upsertMessage(d, true);
    else if (ev.type === "typing" || ev.type === "conversation.read") onLive(ev.type, d);
    else if (ev.type.startsWith("notification.") || ev.type === "preferences.updated") noteEvent(ev.type, d);
    emit(ev.type, d);
    render();
  }

  // ---- the live stream: the token goes in the first message, replay from seq
  let ws = null;
  let wsTimer = null;
  let wsTries = 0;
  function connect() {
    if (!token || ws || !base) return;
    const epoch = S.epoch;
    const sent = token;
    const sock = (ws = new WebSocket(base.replace(/^http/, "ws") + "/v1/widget/stream"));
    sock.onopen = () => sock.send(JSON.stringify({ token: sent, since: S.seq }));
    sock.onmessage = (m) => {
      if (epoch !== S.epoch) return sock.close();
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev.type === "ready") {
        wsTries = 0;
        if (S.seq === null) S.seq = ev.seq;
        if (!S.loaded) load();
        return;
      }
      if (typeof ev.seq === "number") {
        if (S.seq !== null && ev.seq <= S.seq) return; // seen already
        S.seq = ev.seq;
      }
      onEvent(ev);
    };
    sock.onclose = (c) => {
      if (ws === sock) ws = null;
      if (epoch !== S.epoch) return;
      if (c.code === 4401) return renew();
      if (c.code === 4403) return warn("live updates refused: this origin is not allowed");
      const delay = Math.min(30000, 500 * 2 ** wsTries++) * (0.5 + Math.random() / 2);
      wsTimer = setTimeout(connect, delay);
    };
  }
  function disconnect() {
    clearTimeout(wsTimer);
    if (!ws) return;
    const sock = ws;
    ws = sock.onclose = sock.onmessage = null;
    try { sock.close(); } catch { /* already closing */ }
  }
  window.addEventListener("online", () => {
    if (token && !ws) {
      clearTimeout(wsTimer);
      wsTries = 0;
      connect();
    }
  });

  // ---- sending: shown at once, retried with the same client_id
  let creating = null;
  function send(text) {
    const m = {
      client_id: uuid(), body: text, author: { type: "contact", name: null },
      conversation_id: S.thread, created_at: new Date().toISOString(),
    };
    (S.msgs[S.thread] || (S.msgs[S.thread] = [])).push(m);
    attempt(m, 0);
  }
  async function attempt(m, tries) {
    m.state = "sending";
    render();
    let epoch;
    try {
      await ensureSession();
      epoch = S.epoch; // a first session may have started meanwhile
      if (m.conversation_id === "new") {
        creating = creating || api("POST", "/v1/widget/conversations", {}).then(adopt).finally(() => { creating = null; });
        await creating;
      }
      const path = `/v1/widget/conversations/${encodeURIComponent(m.conversation_id)}/messages`;
      const saved = await api("POST", path, { body: m.body, client_id: m.client_id });
      m.id = saved.id;
      upsertMessage(saved, false);
    } catch (e) {
      if (e === STALE || epoch !== S.epoch) return;
      const again = e.status === 0 || e.status >= 500 || e.status === 429 || e.code === "invalid_session";
      if (again && tries < 3) {
        setTimeout(() => epoch === S.epoch && !m.id && attempt(m, tries + 1), 800 * 2 ** tries);
        return;
      }
      m.state = "failed";
    }
    render();
  }
  function adopt(c) {
    // The new conversation exists: its draft messages move to its id.
    addConv(c);
    const drafts = S.msgs.new || [];
    drafts.forEach((m) => { m.conversation_id = c.id; });
    S.msgs[c.id] = sortMsgs((S.msgs[c.id] || []).concat(drafts));
    delete S.msgs.new;
    S.threads[c.id] = true;
    if (S.thread === "new") S.thread = c.id;
  }
  function readNote(n) {
    if (n.read) return;
    n.read = true;
    S.unread = Math.max(0, S.unread - 1);
    render();
    moveNote(n, "read").catch((e) => {
      if (e === STALE) return;
      n.read = false;
      S.unread++;
      render();
    });
  }
  const track = (name, properties) => ensureSession()
    .then(() => api("POST", "/v1/widget/events", { name: String(name), properties: properties || {} }))
    .catch((e) => e !== STALE && warn("track failed: " + e.code));
  // A custom action: resolves to {call_id, status, data} (the customer's API answer);
  // rejects with an Error carrying .status and .code (action_failed, action_timeout, ...).
  // The server adds the user only when this session is verified.
  const action = (name, parameters) => ensureSession()
    .then(() => api("POST", "/v1/widget/actions/" + encodeURIComponent(String(name)), { parameters: parameters || {} }));

  // ---- the UI, in a Shadow DOM so the page's styles and ours never meet
  const ICONS = {
    chat: '<path d="M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6c-.5.4-1.3.1-1.3-.6V16A2.5 2.5 0 0 1 4 13.5z"/>',
    close: '<path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
    bell: '<path d="M12 3a6 6 0 0 0-6 6v3.6l-1.6 2.7A1 1 0 0 0 5.3 17h13.4a1 1 0 0 0 .9-1.7L18 12.6V9a6 6 0 0 0-6-6zm-2.5 15a2.5 2.5 0 0 0 5 0z"/>',
    back: '<path d="M15.4 4.6 8 12l7.4 7.4 1.5-1.5L11 12l5.9-5.9z"/>',
    send: '<path d="M3.4 11.1L19.6 3.6c.8-.4 1.6.4 1.2 1.2l-7.5 16.2c-.4.8-1.5.7-1.8-.1l-1.6-5.3-5.3-1.6c-.8-.3-.9-1.4-.1-1.8z"/>',
    check: '<path d="M12 2l8 3v6c0 5-3.4 9.4-8 11-4.6-1.6-8-6-8-11V5zm-1.2 13.6l5.6-5.6-1.4-1.4-4.2 4.2-2-2-1.4 1.4z"/>',
  };
  const CSS = `
:host{all:initial}*{box-sizing:border-box}
.cs{--a:#4f46e5;--af:#fff;--bg:#fff;--fg:#111827;--mu:#6b7280;--ln:#e5e7eb;--sf:#f3f4f6;color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media(prefers-color-scheme:dark){.cs{--bg:#111827;--fg:#f9fafb;--mu:#9ca3af;--ln:#243042;--sf:#1f2937}}
svg{width:var(--i,22px);height:var(--i,22px);fill:currentColor;display:block}
button{font:inherit;color:inherit;cursor:pointer;border:0;background:none;padding:0}
:focus-visible{outline:2px solid var(--a);outline-offset:2px}
[hidden]{display:none!important}
.g{display:grid;place-items:center}
.acc{background:var(--a);color:var(--af)}
.dock,.panel{position:fixed;right:20px;z-index:2147483000}
.dock{bottom:20px;display:flex;gap:12px;align-items:center}
.round{position:relative;border-radius:50%;transition:transform .15s}
.round:hover{transform:scale(1.06)}
.launch{width:56px;height:56px;box-shadow:0 6px 20px #1118273f;--i:26px}
.bell{width:44px;height:44px;background:var(--bg);box-shadow:0 4px 14px #1118272e}
.badge,.count{border-radius:10px;background:#ef4444;color:#fff;font-weight:600;font-size:12px;padding:0 6px;line-height:20px}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;box-shadow:0 0 0 2px var(--bg)}
.count{margin-left:6px;line-height:18px}
.panel{bottom:92px;width:380px;height:min(620px,calc(100vh - 116px));background:var(--bg);border-radius:16px;
 box-shadow:0 16px 48px #11182733,0 2px 6px #11182714;display:flex;flex-direction:column;overflow:hidden;animation:pop .18s ease-out}
@keyframes pop{from{opacity:0;transform:translateY(8px) scale(.98)}}
@media(prefers-reduced-motion:reduce){.panel{animation:none}.round{transition:none}}
@media(max-width:480px){.panel{inset:0;width:auto;height:auto;border-radius:0}}
.top{background:linear-gradient(135deg,var(--a),color-mix(in srgb,var(--a) 70%,#000));color:var(--af);padding:14px 12px 0}
.top :focus-visible{outline-color:#fff}
.head{display:flex;gap:6px;align-items:flex-start}
.head .grow{padding:2px 4px 12px}
h2{margin:0;font-size:17px;font-weight:650}
.who{margin:2px 0 0;font-size:12.5px;opacity:.9;display:flex;align-items:center;gap:4px;--i:14px}
.icon{flex:none;width:34px;height:34px;border-radius:9px}
.icon:hover{background:#ffffff29}
.tabs{display:flex}
.tab{flex:1;opacity:.72;padding:9px 6px 10px;font-weight:600;border-bottom:2px solid transparent}
.tab[aria-selected=true]{opacity:1;border-color:var(--af)}
.body{flex:1;overflow-y:auto;overscroll-behavior:contain}
ul,ol{list-style:none;margin:0;padding:8px}
.item{display:flex;gap:12px;width:100%;text-align:left;padding:11px 12px;border-radius:12px}
.item:hover{background:var(--sf)}
.av{flex:none;width:36px;height:36px;border-radius:50%;color:var(--a);--i:18px;background:color-mix(in srgb,var(--a) 14%,transparent)}
.grow{flex:1;min-width:0}
.line{display:flex;justify-content:space-between;gap:8px}
.title{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.meta,.text,.empty,.intro,.by,.st,.brand{color:var(--mu)}
.meta{flex:none;font-size:12px}
.text{overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
.dot{flex:none;width:9px;height:9px;margin-top:6px;border-radius:50%;background:var(--a);order:-1}
.av+.grow+.dot{order:0}
.read .title{font-weight:500}.read .dot{visibility:hidden}
.empty,.intro{text-align:center;padding:48px 28px}
.empty strong{display:block;color:var(--fg);font-size:15px;margin-bottom:4px}
.foot{padding:12px 16px 14px;border-top:1px solid var(--ln)}
.primary{width:100%;border-radius:12px;padding:11px;font-weight:600;display:flex;gap:8px;justify-content:center;--i:18px}
.msgs{display:flex;flex-direction:column;gap:4px;padding:16px}
.msg{max-width:82%;align-self:flex-start}.me{align-self:flex-end}
.by{font-size:12px;margin:8px 0 2px 6px}
.bubble{padding:9px 13px;border-radius:18px 18px 18px 5px;background:var(--sf);white-space:pre-wrap;overflow-wrap:anywhere}
.me .bubble{background:var(--a);color:var(--af);border-radius:18px 18px 5px 18px}
.sending .bubble{opacity:.65}.failed .bubble{opacity:.55}
.st{font-size:11.5px;text-align:right;margin:2px 4px 0}.typing{font-size:12px;font-style:italic;opacity:.7;margin:4px 6px}
.failed .st,.retry{color:#dc2626;font-weight:600}
.retry{text-decoration:underline}
.composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px 12px;border-top:1px solid var(--ln)}
textarea{flex:1;resize:none;border:1px solid var(--ln);border-radius:14px;padding:10px 13px;font:inherit;color:inherit;
 background:var(--bg);min-height:42px;max-height:120px}
textarea:focus{outline:2px solid var(--a);outline-offset:-1px}
.sendb{flex:none;width:42px;height:42px;border-radius:12px;--i:19px}
.brand{font-size:11.5px;text-align:center;padding:0 0 10px}
.nbar{padding:8px 10px 0;border-bottom:1px solid var(--ln)}
.chips{display:flex;gap:6px;overflow-x:auto;padding-bottom:8px}
.chip{flex:none;padding:4px 10px;border-radius:14px;background:var(--sf);font-size:12.5px;font-weight:600}
.chip[aria-pressed=true]{background:var(--a);color:var(--af)}
.chip .count{margin-left:4px}
.tools{display:flex;gap:8px;align-items:center;justify-content:space-between;padding-bottom:6px;font-size:12.5px}
.seg{display:flex;gap:2px}.seg button{padding:3px 8px;border-radius:8px;color:var(--mu);font-weight:600}
.seg button[aria-pressed=true]{background:var(--sf);color:var(--fg)}
.link{color:var(--a);font-weight:600;font-size:12.5px;white-space:nowrap}
.note{border-radius:12px}.note:hover{background:var(--sf)}
.note .item:hover{background:none}
.acts{display:flex;gap:6px;flex-wrap:wrap;padding:0 12px 10px 33px}
.act{padding:5px 11px;border-radius:9px;border:1px solid var(--ln);font-weight:600;font-size:12.5px;color:var(--a);text-decoration:none}
.act.primary-act{background:var(--a);color:var(--af);border-color:var(--a)}
.arch{margin-left:auto;color:var(--mu);font-size:12px;font-weight:600;padding:5px 6px}
.undo,.toast{display:flex;gap:10px;align-items:center;justify-content:space-between;background:var(--fg);color:var(--bg);
 border-radius:10px;padding:9px 12px;margin:8px;font-size:13px}
.undo button{color:inherit;text-decoration:underline;font-weight:700}
.toast{position:absolute;right:0;bottom:64px;width:300px;flex-direction:column;align-items:flex-start;gap:2px;margin:0;
 box-shadow:0 8px 24px #11182740}
.toast span{opacity:.8}
.prefs{padding:6px 14px}
.prefs li{display:flex;align-items:center;gap:10px;padding:9px 0;border-bottom:1px solid var(--ln)}
.prefs label{display:flex;gap:5px;align-items:center;font-size:12.5px;color:var(--mu)}`;

  let root = null;
  const E = {};
  function svg(name) {
    const s = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("aria-hidden", "true");
    s.innerHTML = ICONS[name]; // our own constant markup only: page data goes in as text
    return s;
  }
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k === "cls" ? "class" : k, v === true ? "" : v);
    }
    el.append(...kids.filter((c) => c != null));
    return el;
  }
  const attrs = (el, values) => { for (const k in values) el.setAttribute(k, values[k]); };
  const button = (cls, label, onclick, ...kids) => h("button", { cls, type: "button", "aria-label": label, onclick }, ...kids);

  function build() {
    if (root || !document.body) return;
    root = h("div", { id: "countersign-widget", "data-identity": "anonymous" });
    E.shadow = root.attachShadow({ mode: "open" });
    E.title = h("h2", { id: "cs-title" });
    E.who = h("p", { cls: "who" });
    E.back = button("g icon", "Back to conversations", () => show("list"), svg("back"));
    E.tabCount = h("span", { cls: "count", "aria-hidden": "true" });
    const tab = (view, label, ...kids) => h("button", { cls: "tab", role: "tab", "aria-controls": "cs-body", onclick: () => show(view) }, label, ...kids);
    E.tabMsgs = tab("list", "Messages");
    E.tabNotes = tab("notifications", "Notifications", E.tabCount);
    E.tabs = h("div", { cls: "tabs", role: "tablist", "aria-label": "Sections", onkeydown: tabKeys }, E.tabMsgs, E.tabNotes);
    E.list = h("ul", { "aria-label": "Your conversations" });
    E.msgs = h("ol", { cls: "msgs", role: "log", "aria-label": "Messages in this conversation" });
    E.notes = h("ul", { "aria-label": "Your notifications" });
    E.chips = h("div", { cls: "chips", role: "group", "aria-label": "Categories" });
    E.seg = h("div", { cls: "seg", role: "group", "aria-label": "Show" },
      ...[["unread", "Unread"], ["inbox", "All"], ["archived", "Archived"]].map(([v, label]) =>
        h("button", { type: "button", "data-view": v, onclick: () => { S.nView = v; S.prefsOpen = false; loadNotes(); render(); } }, label)));
    E.readAll = h("button", { cls: "link", type: "button", onclick: () => everything("read") }, "Mark all read");
    E.prefsBtn = h("button", { cls: "link", type: "button", onclick: togglePrefs }, "Preferences");
    E.nbar = h("div", { cls: "nbar" }, E.chips, h("div", { cls: "tools" }, E.seg, E.readAll, E.prefsBtn));
    E.undoBar = h("div", { cls: "undo", role: "status", hidden: true });
    E.prefs = h("ul", { cls: "prefs", "aria-label": "Notification preferences" });
    E.body = h("div", { cls: "body", id: "cs-body", role: "tabpanel", "aria-labelledby": "cs-title" }, E.list, E.msgs,
      E.nbar, E.undoBar, E.notes, E.prefs);
    E.input = h("textarea", { rows: 1, "aria-label": "Write a message", placeholder: "Write a message…", maxlength: 10000, onkeydown: composeKeys, oninput: () => { grow(); typed(); } });
    E.composer = h("form", { cls: "composer", onsubmit: submit }, E.input,
      h("button", { cls: "g acc sendb", type: "submit", "aria-label": "Send" }, svg("send")));
    E.newBtn = button("acc primary", null, () => openThread("new"), svg("chat"), "New conversation");
    E.foot = h("div", { cls: "foot" }, E.newBtn);
    E.panel = h("section", { cls: "panel", id: "cs-panel", role: "dialog", "aria-labelledby": "cs-title", hidden: true },
      h("div", { cls: "top" }, h("div", { cls: "head" }, E.back, h("div", { cls: "grow" }, E.title, E.who),
        button("g icon", "Close", close, svg("close"))), E.tabs),
      E.body, E.composer, E.foot, h("div", { cls: "brand", text: "Secured by Countersign" }));
    E.bellBadge = h("span", { cls: "badge", "aria-hidden": "true" });
    E.bell = button("g round bell", null, () => toggle("notifications", E.bell), svg("bell"), E.bellBadge);
    E.launchBadge = h("span", { cls: "badge", "aria-hidden": "true" });
    E.launch = button("g acc round launch", null, () => toggle("list", E.launch), svg("chat"), E.launchBadge);
    for (const el of [E.bell, E.launch]) el.setAttribute("aria-controls", "cs-panel");
    E.toast = h("div", { cls: "toast", role: "status", hidden: true, onclick: () => { E.toast.hidden = true; openPanel("notifications", E.bell); } });
    E.dock = h("div", { cls: "dock" }, E.toast, E.bell, E.launch);
    const onkeydown = (e) => { if (e.key === "Escape" && S.open) { e.stopPropagation(); close(); } };
    E.wrap = h("div", { cls: "cs", onkeydown }, E.panel, E.dock);
    E.shadow.append(h("style", { text: CSS }), E.wrap);
    document.body.append(root);
    render();
  }
  function ago(iso) {
    const s = (Date.now() - new Date(iso)) / 1000;
    if (!(s >= 45)) return "now";
    if (s < 3600) return Math.round(s / 60) + "m";
    if (s < 86400) return Math.round(s / 3600) + "h";
    return s < 604800 ? Math.round(s / 86400) + "d" : new Date(iso).toLocaleDateString();
  }
  const author = (m) => (!m.author || m.author.type === "contact" ? "You"
    : m.author.name || (m.author.type === "bot" ? "Bot" : "Support"));

  function render() {
    if (!root) return;
    const focusKey = E.shadow.activeElement?.getAttribute("data-key");
    const status = S.identity.status;
    const verified = status === "verified";
    root.setAttribute("data-identity", status);
    if (S.color) E.wrap.style.setProperty("--a", S.color);
    if (S.view === "notifications" && !verified) S.view = "list";
    const view = S.view;
    E.who.replaceChildren(...(verified ? [svg("check")] : []),
      verified ? "Signed in as " + displayName()
        : status === "unverified" ? (displayName() || "You") + " (not verified)" : "We usually reply in a few minutes");
    E.title.textContent = { notifications: "Notifications", thread: "Conversation" }[view] || "Messages";
    E.back.hidden = view !== "thread";
    E.tabs.hidden = !verified || view === "thread";
    const notes = view === "notifications";
    const unread = `Notifications, ${S.unread} unread`;
    attrs(E.tabMsgs, { "aria-selected": !notes, tabindex: notes ? -1 : 0 });
    attrs(E.tabNotes, { "aria-selected": notes, tabindex: notes ? 0 : -1, "aria-label": unread });
    Object.assign(E.tabCount, { textContent: S.unread, hidden: !S.unread });
    E.list.hidden = view !== "list";
    E.msgs.hidden = E.composer.hidden = view !== "thread";
    E.notes.hidden = !notes || S.prefsOpen;
    E.nbar.hidden = !notes;
    E.prefs.hidden = !notes || !S.prefsOpen;
    E.undoBar.hidden = !notes || !S.undo;
    E.foot.hidden = view !== "list";
    E.panel.hidden = !S.open || !!S.gated;
    E.dock.hidden = !!S.hideLauncher || !!S.gated;
    E.bell.hidden = !verified;
    // The bell shows what arrived since the list was last opened; the tab shows unread.
    const fresh = S.counts.unseen;
    Object.assign(E.bellBadge, { textContent: fresh > 99 ? "99+" : fresh, hidden: !fresh });
    attrs(E.bell, { "aria-label": unread, "aria-expanded": S.open && notes });
    const unseen = Object.keys(S.unseen).length;
    Object.assign(E.launchBadge, { textContent: unseen, hidden: !unseen });
    const more = unseen ? `, ${unseen} with new replies` : "";
    attrs(E.launch, { "aria-label": (S.open ? "Close" : "Open") + " messages" + more, "aria-expanded": S.open });
    E.launch.firstChild.replaceWith(svg(S.open ? "close" : "chat"));
    ({ list: renderList, thread: renderThread, notifications: renderNotes })[view]();
    if (focusKey) [...E.shadow.querySelectorAll("[data-key]")].find((el) => el.dataset.key === focusKey)?.focus();
  }
  const empty = (title, text) => h("li", { cls: "empty" }, h("strong", { text: title }), text);
  // One row of a list: a button (unread ones get a dot) with title, time and text.
  const row = (key, unread, label, onclick, lead, title, when, text) => h("li", null, h("button", {
    cls: "item" + (unread ? "" : " read"), type: "button", "data-key": key, "aria-label": `${label}, ${ago(when)}`, onclick,
  }, lead, h("span", { cls: "grow" }, h("span", { cls: "line" }, h("span", { cls: "title", text: title }),
    h("span", { cls: "meta", text: ago(when) })), text ? h("span", { cls: "text", text }) : null), h("span", { cls: "dot" })));
  function renderList() {
    const convs = Object.values(S.convs).filter((c) => c.message_count > 0 || c.last)
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    for (const c of convs.slice(0, 6)) {
      // A preview needs the last message: fetched for the first few, once.
      if (S.open && !c.last && !c.peeked && c.message_count <= 100) {
        c.peeked = true;
        loadThread(c.id);
      }
    }
    E.list.replaceChildren(...convs.map((c) => {
      const title = c.last ? author(c.last) : "Conversation";
      const text = c.last ? c.last.body : c.message_count + (c.message_count === 1 ? " message" : " messages");
      const fresh = S.unseen[c.id];
      return row("c" + c.id, fresh, `${fresh ? "New reply. " : ""}${title}: ${text}`, () => openThread(c.id),
        h("span", { cls: "g av" }, svg("chat")), title, c.updated_at, text);
    }));
    if (!convs.length) {
      E.list.append(empty(S.listed || !token ? "No conversations yet" : "Loading…",
        "Questions, feedback, a bug? Start a conversation and the team will answer here."));
    }
  }
  function renderThread() {
    const list = S.msgs[S.thread] || [];
    const stick = E.body.scrollHeight - E.body.scrollTop - E.body.clientHeight < 60;
    let prev = null;
    const seen = S.convs[S.thread]?.seen_up_to_seq || 0;
    const mineLast = list.filter((m) => m.author?.type === "contact").pop();
    E.msgs.replaceChildren(...list.map((m) => {
      const mine = m.author?.type === "contact";
      const state = m.id ? "" : m.state || "";
      const li = h("li", { cls: `msg ${mine ? "me" : ""} ${state}` },
        !mine && (!prev || author(prev) !== author(m)) ? h("div", { cls: "by", text: author(m) }) : null,
        h("div", { cls: "bubble", text: m.body }),
        state === "sending" ? h("div", { cls: "st", text: "Sending…" }) : null,
        m === mineLast && m.seq && m.seq <= seen ? h("div", { cls: "st seen", text: "Seen" }) : null,
        state === "failed" ? h("div", { cls: "st" }, "Not sent. ",
          h("button", { cls: "retry", type: "button", "data-key": "r" + m.client_id, onclick: () => attempt(m, 0) }, "Retry")) : null);
      prev = m;
      return li;
    }));
    const t = S.typing[S.thread];
    if (t && t.until > Date.now()) E.msgs.append(h("li", { cls: "typing", "aria-live": "polite", text: t.name + " is typing…" }));
    readThread(list);
    if (!list.length) {
      E.msgs.append(h("li", { cls: "intro", text: S.thread === "new"
        ? "Ask us anything: we answer here." : "Loading…" }));
    }
    if (stick || S.scrollDown) E.body.scrollTop = E.body.scrollHeight;
    S.scrollDown = false;
  }
  const label = (name) => S.prefs?.categories?.[name]?.label || name.charAt(0).toUpperCase() + name.slice(1);
  function renderNotes() {
    const cats = Object.keys({ ...S.counts.categories, ...(S.prefs?.categories || {}) }).sort();
    E.chips.replaceChildren(...[null, ...cats].map((c) => {
      const unread = c == null ? S.counts.unread : S.counts.categories[c]?.unread || 0;
      const name = c == null ? "All" : label(c);
      return h("button", { cls: "chip", type: "button", "data-key": "k" + c, "aria-pressed": String(S.nCat === c),
        "aria-label": `${name}, ${unread} unread`, onclick: () => { S.nCat = c; S.prefsOpen = false; loadNotes(); render(); } },
      name, unread ? h("span", { cls: "count", text: unread }) : null);
    }));
    E.chips.hidden = cats.length < 2;
    for (const b of E.seg.children) b.setAttribute("aria-pressed", String(b.dataset.view === S.nView));
    attrs(E.prefsBtn, { "aria-expanded": String(S.prefsOpen) });
    if (S.undo) {
      E.undoBar.replaceChildren(h("span", { text: S.undo.to === "archive" ? "Notification archived." : "Notification restored." }),
        h("button", { type: "button", onclick: undoMove }, "Undo"));
    }
    E.notes.replaceChildren(...S.notes.map(noteRow));
    if (!S.notes.length) {
      E.notes.append(S.nView === "archived" ? empty("Nothing archived", "Archived notifications are kept here.")
        : empty("You're all caught up", "Notifications from the team show up here."));
    }
    E.prefs.replaceChildren(...Object.entries(S.prefs?.categories || {}).map(([name, p]) => h("li", null,
      h("span", { cls: "grow title", text: p.label }),
      ...[["in_app", "In-app"], ["email", "Email"]].map(([channel, text]) => h("label", null,
        h("input", { type: "checkbox", checked: p[channel], "data-key": `p${name}.${channel}`,
          "aria-label": `${p.label}: ${text}`, onchange: (e) => choose(name, channel, e.target.checked) }), text)))));
  }
  const safeUrl = (url) => /^https?:\/\//i.test(url || "");
  function noteRow(n) {
    const main = row("n" + n.id, !n.read, `${n.read ? "" : "Unread. "}${n.title}${n.body ? ". " + n.body : ""}`, () => {
      readNote(n);
      if (/^(https?:\/\/|\/)/.test(n.url || "")) window.location.assign(n.url);
    }, null, n.title, n.created_at, n.body).firstChild;
    const acts = (n.actions || []).filter((a) => safeUrl(a.url)).map((a, i) => h("a", {
      cls: "act" + (i === 0 ? " primary-act" : ""), href: a.url, target: "_blank", rel: "noopener noreferrer",
      onclick: () => readNote(n) }, a.label));
    const arch = h("button", { cls: "arch", type: "button", "data-key": "a" + n.id,
      "aria-label": `${n.archived_at ? "Unarchive" : "Archive"} ${n.title}`, onclick: () => archiveNote(n) },
    n.archived_at ? "Unarchive" : "Archive");
    return h("li", { cls: "note" + (n.read ? " read" : ""), "data-id": n.id, "data-category": n.category }, main,
      h("div", { cls: "acts" }, ...acts, arch));
  }

  function focusView() {
    if (!S.open || !root) return;
    const first = (list) => list.querySelector("button");
    ({ thread: E.input, notifications: first(E.notes) || E.tabNotes }[S.view] || first(E.list) || E.newBtn).focus();
  }
  function show(view) {
    S.view = view;
    if (view === "notifications") markSeen();
    if (view !== "thread") S.thread = null;
    render();
    focusView();
  }
  function openPanel(view, opener) {
    build();
    if (opener) S.opener = opener;
    S.open = true;
    if (view) S.view = view;
    if (S.view === "notifications") markSeen();
    if (!token) ensureSession().catch(noop);
    render();
    focusView();
  }
  function close() {
    if (!S.open) return;
    S.open = false;
    render();
    (S.opener && !S.opener.hidden ? S.opener : E.launch)?.focus();
  }
  function toggle(view, opener) {
    if (S.open && (S.view === view || (view === "list" && S.view === "thread"))) close();
    else openPanel(view, opener);
  }
  function openThread(id, text) {
    S.thread = id;
    S.scrollDown = true;
    delete S.unseen[id];
    openPanel("thread");
    if (text) {
      E.input.value = text;
      grow();
    }
    if (id !== "new" && !S.threads[id] && token) loadThread(id);
  }
  function tabKeys(e) {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    show(S.view === "notifications" ? "list" : "notifications");
    (S.view === "notifications" ? E.tabNotes : E.tabMsgs).focus();
  }
  function composeKeys(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
  }
  function grow() {
    E.input.style.height = "auto";
    E.input.style.height = Math.min(120, E.input.scrollHeight + 2) + "px";
  }
  function submit(e) {
    e.preventDefault();
    const text = E.input.value.trim();
    if (!text) return;
    E.input.value = "";
    grow();
    send(text);
  }

  // ---- commands
  const COMMANDS = {
    boot(o = {}) {
      settings(o);
      replace(person(o));
    },
    identify: (o, hash) => (o && typeof o === "object" ? replace(person(o)) : COMMANDS.auth(o, hash)),
    auth: (id, hash, metadata) => replace({ user_id: id, user_hash: hash, user_metadata: { ...metadata } }),
    // Chatwoot: setUser(identifier, {identifier_hash, email, name, ...})
    setUser: (id, attributes) => replace({ ...person(attributes || {}), user_id: id }),
    set(what, value) {
      if (typeof what !== "string") {
        settings(what);
        return what?.user && merge(person(what.user));
      }
      // Crisp: set("user:email", [email, signature]), set("user:nickname", [name]), ...
      const [first, signature] = [].concat(value);
      if (what === "user:email") merge({ email: first, user_hash: signature, user_metadata: {} });
      else if (what.startsWith("user:")) merge({ user_metadata: { [what === "user:nickname" ? "name" : what.slice(5)]: first } });
    },
    update(o) {
      settings(o);
      merge(person(o || {}));
    },
    setCustomAttributes: (o) => merge({ user_metadata: o }),
    logout,
    open: (view) => openPanel(view === "notifications" ? view : view ? "list" : null),
    showNotifications: () => openPanel("notifications"),
    showNewMessage(text) {
      build();
      openThread("new", text);
    },
    close,
    toggle: () => (S.open ? close() : openPanel()),
    do: (action) => run(action, []), // Crisp: do("chat:open"), do("session:reset")
    track,
    action,
    on(name, fn) {
      if (typeof fn !== "function") return;
      (handlers[name] || (handlers[name] = [])).push(fn);
      if (name === "identity" && booted) fn(who());
    },
    init: (id) => typeof id === "string" && settings({ app_id: id }), // Help Scout Beacon
  };
  // Other widgets' names for the same commands.
  const SAME = {
    authenticate: "auth", login: "identify", shutdown: "logout", reset: "logout", "session:reset": "logout",
    show: "open", showMessages: "open", "chat:open": "open", "chat:show": "open", hide: "close",
    "chat:close": "close", "chat:hide": "close", "chat:toggle": "toggle", trackEvent: "track",
  };

  function run(name, args) {
    const command = COMMANDS[has(SAME, name) ? SAME[name] : name];
    if (!has(COMMANDS, name) && !has(SAME, name)) return warn(`unknown command ${JSON.stringify(name)}. See ${DOCS}#call-reference`);
    try {
      return command(...args);
    } catch (e) {
      warn(`${name} failed: ${e.message}`);
    }
  }
  const Countersign = (name, ...args) => run(name, args);
  for (const name of [...Object.keys(COMMANDS), ...Object.keys(SAME)]) Countersign[name] = (...args) => run(name, args);
  // Crisp-style: Countersign.push(["set", "user:email", [email, signature]])
  Countersign.push = (command) => Array.isArray(command) && run(command[0], command.slice(1));
  Countersign.version = "0.1.0";

  let booted = false;
  const queued = window.Countersign;
  window.Countersign = Countersign;
  if (!base) warn("cannot tell where widget.js came from: load it with <script src>");
  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
  if (window.countersignSettings) run("boot", [window.countersignSettings]);
  for (const c of Array.isArray(queued) ? queued : queued?.q || []) run(c[0], [].slice.call(c, 1));
  booted = true;
  if (!batch && !claims(want)) {
    // A returning anonymous visitor reconnects at once (replies may be waiting).
    // A browser an app once refused stays hidden unless the app now lets it in.
    if (loadVisitor() || (S.gated = loadVisitor("gated") === "1")) ensureSession().catch(noop);
    else emit("identity", who());
  }
  window.dispatchEvent(new CustomEvent("countersign:ready"));
})();
