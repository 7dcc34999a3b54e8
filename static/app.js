// Avio admin console. Plain ES2020, no dependencies, served at /admin/assets/app.js.
// Everything the API returns is untrusted: it reaches the page only via textContent / createElement, never innerHTML.
'use strict';

// ---------------------------------------------------------------- i18n
const LANG = (navigator.language || 'en').toLowerCase().startsWith('ru') ? 'ru' : 'en';

// key: [English, Russian]
const STR = {
  app_title: ['Avio admin console', 'Avio — консоль администратора'], skip: ['Skip to content', 'Перейти к содержимому'],
  logout: ['Log out', 'Выйти'], login_title: ['Sign in', 'Вход'],
  login_hint: ['Enter the admin token (ADMIN_TOKEN). It is kept only in this browser tab (sessionStorage).',
    'Введите токен администратора (ADMIN_TOKEN). Он хранится только в этой вкладке браузера (sessionStorage).'],
  token_label: ['Admin token', 'Токен администратора'], login: ['Sign in', 'Войти'], logged_out: ['Logged out', 'Вы вышли'],
  refresh: ['Refresh', 'Обновить'], save: ['Save', 'Сохранить'], yes: ['yes', 'да'], no: ['no', 'нет'],
no_items: ['Nothing here yet', 'Пока пусто'], load_more: ['Load more', 'Загрузить ещё'],
  load_older: ['Load older messages', 'Загрузить более ранние'], state: ['State:', 'Состояние:'],
  check_status: ['Check status', 'Проверить статус'], all: ['All', 'Все'],
  // health
  health_title: ['Health and queues', 'Состояние и очереди'],
  auto_refresh: ['Auto-refresh every 10 s', 'Автообновление каждые 10 с'], h_db: ['Database', 'База данных'],
  h_schema: ['Schema version', 'Версия схемы'], h_inbox_pending: ['Inbox pending', 'Входящие в очереди'],
  h_inbox_parked: ['Inbox parked', 'Входящие отложены'], h_outbox_queued: ['Outbox queued', 'Исходящие в очереди'],
  h_outbox_failed: ['Outbox failed', 'Исходящие с ошибкой'], h_outbox_enabled: ['Outbound sending enabled', 'Отправка включена'],
  h_uptime: ['Uptime, s', 'Время работы, с'], updated_at: ['Updated {time}', 'Обновлено {time}'],
  // tenants
  tenants_title: ['Tenants', 'Клиенты (tenants)'], tenants_caption: ['Provider tokens', 'Токены провайдера'],
  tenant_select: ['Selected tenant', 'Выбранный клиент'],
  tenant_select_hint: ['The selected tenant drives the Telegram, WhatsApp, leads, send and outbox sections.',
    'Выбранный клиент используется в разделах Telegram, WhatsApp, лиды, отправка и исходящие.'],
  tenant_add_label: ['New tenant number', 'Номер нового клиента'], tenant_add: ['Add tenant', 'Добавить клиента'],
  tenant_added: ['Tenant {tenant} is ready', 'Клиент {tenant} готов'],
  tenant_invalid: ['Enter a whole number from 1', 'Введите целое число от 1'], no_tenants: ['— no tenants —', '— нет клиентов —'],
  col_tenant: ['Tenant', 'Клиент'], col_token: ['Provider token', 'Токен провайдера'], col_created_at: ['Created', 'Создан'],
  col_actions: ['Actions', 'Действия'], show: ['Show', 'Показать'], hide: ['Hide', 'Скрыть'], copy: ['Copy', 'Копировать'],
  rotate: ['Rotate', 'Сменить'], token_masked: ['token hidden', 'токен скрыт'],
  token_of: ['token of tenant {tenant}', 'токен клиента {tenant}'], copied: ['Token copied', 'Токен скопирован'],
  copy_manual: ['Copy the token manually:', 'Скопируйте токен вручную:'],
  confirm_rotate: ['Rotate the provider token of tenant {tenant}? '
    + 'The old token stops working at once; the WhatsApp worker must get the new one.',
    'Сменить токен провайдера клиента {tenant}? Старый токен сразу перестанет работать; воркеру WhatsApp нужен будет новый.'],
  rotated: ['Token of tenant {tenant} rotated', 'Токен клиента {tenant} сменён'],
  // public key
  key_title: ['Public key for connecting accounts', 'Публичный ключ для подключения аккаунтов'],
  key_hint: ['The Telegram and WhatsApp connect routes (/pub/tg/*, /pub/wa/*) take the public key PUBLIC_KEY as query parameter k. '
    + 'In compatibility mode (PUBLIC_KEY not set) the admin token works too.',
    'Маршруты подключения Telegram и WhatsApp (/pub/tg/*, /pub/wa/*) принимают публичный ключ PUBLIC_KEY в параметре k. '
    + 'В режиме совместимости (PUBLIC_KEY не задан) подходит и токен администратора.'],
  key_label: ['Public key (k)', 'Публичный ключ (k)'], key_use_admin: ['Use admin token', 'Взять токен администратора'],
  key_set: ['The public key is set for this tab.', 'Публичный ключ задан для этой вкладки.'],
  key_unset: ['No public key yet: connecting Telegram and WhatsApp needs it.',
    'Ключ не задан: он нужен для подключения Telegram и WhatsApp.'],
  key_saved: ['Public key saved', 'Публичный ключ сохранён'],
  need_key: ['Enter the public key first.', 'Сначала введите публичный ключ.'],
  need_tenant: ['Select or add a tenant first.', 'Сначала выберите или добавьте клиента.'],
  // telegram
  tg_title: ['Telegram', 'Telegram'], tg_start: ['Connect (QR)', 'Подключить (QR)'],
  tg_logout: ['Log out of Telegram', 'Выйти из Telegram'],
  tg_hint: ['In Telegram open Settings → Devices → Link Desktop Device and scan the code.',
    'В Telegram откройте Настройки → Устройства → Подключить устройство и отсканируйте код.'],
  tg_qr_alt: ['Telegram login QR code', 'QR-код для входа в Telegram'], tg_new_qr: ['New QR code', 'Новый QR-код'],
  tg_expires: ['The code expires in {s} s', 'Код истечёт через {s} с'],
  tg_expired: ['The QR code expired.', 'Срок QR-кода истёк.'],
  tg_password: ['Two-step verification password', 'Пароль двухэтапной проверки'],
  tg_submit_2fa: ['Send password', 'Отправить пароль'],
  tg_confirm_logout: ['Log tenant {tenant} out of Telegram? Messages stop until it is connected again.',
    'Выйти из Telegram для клиента {tenant}? Сообщения перестанут приходить до нового подключения.'],
  tg_logged_out: ['Telegram session closed', 'Сессия Telegram закрыта'],
  tg_connected: ['Telegram is connected', 'Telegram подключён'],
  tg_state_need_qr: ['waiting for the QR scan', 'ожидание сканирования QR'],
  tg_state_need_2fa: ['password required', 'нужен пароль'], tg_state_authorized: ['connected', 'подключён'],
  tg_state_failed: ['failed or QR expired', 'ошибка или QR истёк'],
  // whatsapp
  wa_title: ['WhatsApp', 'WhatsApp'], wa_start: ['Connect (QR)', 'Подключить (QR)'],
  wa_hint: ['In WhatsApp open Settings → Linked devices → Link a device and scan the code.',
    'В WhatsApp откройте Настройки → Связанные устройства → Привязка устройства и отсканируйте код.'],
  wa_qr_alt: ['WhatsApp login QR code', 'QR-код для входа в WhatsApp'],
  wa_connected: ['WhatsApp is connected', 'WhatsApp подключён'], wa_state_qr: ['scan the QR code', 'отсканируйте QR-код'],
  wa_state_ready: ['ready', 'готов'], wa_state_starting: ['starting…', 'запуск…'],
  wa_state_disconnected: ['disconnected', 'отключён'],
  // leads
  leads_title: ['Leads', 'Лиды'], lead_pick: ['Select a lead to see its messages', 'Выберите лид, чтобы увидеть сообщения'],
  lead_heading: ['{name}: lead #{id}', '{name}: лид #{id}'],
  lead_meta: ['#{id} · {channel} · {status} · {n} msg. · {time}', '#{id} · {channel} · {status} · {n} сообщ. · {time}'],
  dir_in: ['incoming', 'входящее'], dir_out: ['outgoing', 'исходящее'], attachment: ['attachment', 'вложение'],
  // send
  send_title: ['Send a message', 'Отправить сообщение'], send_tenant: ['Tenant', 'Клиент'], send_channel: ['Channel', 'Канал'],
  send_to: ['Recipient', 'Получатель'],
  send_to_hint: ['Telegram: me, a numeric id or @username. WhatsApp: +E164 phone or digits.',
    'Telegram: me, числовой id или @username. WhatsApp: телефон +E164 или цифры.'],
  send_text: ['Text', 'Текст'], send_async: ['Queue (async): POST /send?async=1', 'В очередь (асинхронно): POST /send?async=1'],
  send_submit: ['Send', 'Отправить'], send_ok: ['Sent', 'Отправлено'],
  send_queued: ['Queued as job {id}', 'Поставлено в очередь, задача {id}'], result_label: ['Server answer', 'Ответ сервера'],
  hint_outbox_disabled: ['Outbound sending is off. Set OUTBOX_ENABLED=true and list allowed recipients in OUTBOX_WHITELIST '
    + '(or * for everyone), then restart Avio.',
    'Отправка выключена. Задайте OUTBOX_ENABLED=true и перечислите разрешённых получателей в OUTBOX_WHITELIST '
    + '(или * для всех), затем перезапустите Avio.'],
  hint_not_whitelisted: ['The recipient is not listed in OUTBOX_WHITELIST.', 'Получателя нет в OUTBOX_WHITELIST.'],
  // inbox / outbox
  inbox_title: ['Parked inbox jobs', 'Отложенные входящие задачи'],
  inbox_hint: ['Inbound events that failed repeatedly and wait for an operator.',
    'Входящие события, которые много раз не удалось обработать.'],
  outbox_title: ['Outbox jobs', 'Исходящие задачи'], outbox_status: ['Status', 'Статус'], st_queued: ['queued', 'в очереди'],
  st_sent: ['sent', 'отправлено'], st_failed: ['failed', 'ошибка'], st_skipped: ['skipped', 'пропущено'], col_id: ['ID', 'ID'],
  col_kind: ['Kind', 'Тип'], col_channel: ['Channel', 'Канал'], col_to: ['To', 'Кому'], col_status: ['Status', 'Статус'],
  col_reason: ['Reason', 'Причина'], col_attempts: ['Attempts', 'Попытки'], col_last_error: ['Last error', 'Последняя ошибка'],
  // error codes
  err_unknown: ['Error', 'Ошибка'], err_network_error: ['The server did not answer', 'Сервер не ответил'],
  err_bad_response: ['Unexpected answer from the server', 'Неожиданный ответ сервера'],
  err_unauthorized: ['The admin token was rejected', 'Токен администратора отклонён'],
  err_invalid_key: ['The public key (k) was rejected', 'Публичный ключ (k) отклонён'],
  err_invalid_tenant: ['Invalid tenant', 'Неверный номер клиента'],
  err_invalid_parameter: ['Invalid parameter', 'Неверный параметр'], err_invalid_payload: ['Invalid request', 'Неверный запрос'],
  err_not_found: ['Not found', 'Не найдено'], err_db_unavailable: ['Database unavailable', 'База данных недоступна'],
  err_bad_password: ['Wrong password', 'Неверный пароль'], err_too_many_attempts: ['Too many attempts', 'Слишком много попыток'],
  err_flood_wait: ['Telegram asks to wait', 'Telegram просит подождать'],
  retry_after: ['try again in {s} s', 'повторите через {s} с'],
  err_tg_unavailable: ['The Telegram worker is unavailable', 'Воркер Telegram недоступен'],
  err_wa_unavailable: ['The WhatsApp worker is unavailable', 'Воркер WhatsApp недоступен'],
  err_already_authorized: ['This tenant is already connected to Telegram; log out first to link another account',
    'Клиент уже подключён к Telegram; чтобы привязать другой аккаунт, сначала выйдите'],
  err_qr_expired: ['No fresh QR code could be issued; try again', 'Не удалось выдать новый QR-код; попробуйте ещё раз'],
  err_qr_not_found: ['QR code not found', 'QR-код не найден'],
  err_not_waiting_2fa: ['Telegram is not waiting for a password', 'Telegram не ожидает пароль'],
  err_outbox_disabled: ['Outbound sending is disabled', 'Отправка выключена'],
  err_not_whitelisted: ['Recipient is not whitelisted', 'Получатель не в белом списке'],
  err_invalid_to: ['Invalid recipient', 'Неверный получатель'],
  err_worker_unreachable: ['The worker is unreachable', 'Воркер недоступен'],
  err_relogin_required: ['The session needs a new login', 'Сессии нужен повторный вход'],
  err_in_progress: ['The same send is still in progress', 'Такая же отправка ещё выполняется'],
};

/** Translated string; `{name}` placeholders are filled from vars. */
function t(key, vars) {
  const entry = STR[key];
  const s = entry ? entry[LANG === 'ru' ? 1 : 0] : key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

/** Human text for an error answer, always with its code (and retry delay / detail when given). */
function errText(r) {
  const d = (r && r.data) || {};
  const code = String(d.error || 'unknown');
  let s = `${STR['err_' + code] ? t('err_' + code) : t('err_unknown')} (${code}${d.detail ? ': ' + d.detail : ''})`;
  const wait = (r.headers && r.headers.get('Retry-After')) || d.retry_after;
  if (wait) s += ` — ${t('retry_after', { s: wait })}`;
  return s;
}

/** Fills the static page: data-i18n → textContent. */
function translatePage() {
  document.documentElement.lang = LANG;
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  $('tg-qr').alt = t('tg_qr_alt');
  $('wa-qr').alt = t('wa_qr_alt');
}

// ---------------------------------------------------------------- DOM and storage helpers
const $ = (id) => document.getElementById(id);

/** createElement with props (class, text, on*, attributes) and children (nodes or plain text). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Per-section error line; empty message hides it. */
function setErr(id, msg) {
  const node = $(id);
  node.textContent = msg || '';
  node.hidden = !msg;
}

/** Section error line plus one announcement (a poll repeating the same error is not re-announced). */
function reportErr(id, r) {
  const msg = errText(r);
  if ($(id).hidden || $(id).textContent !== msg) notify(msg, true);
  setErr(id, msg);
}

/** The one aria-live status region. */
let noticeTimer = null;
function notify(msg, isError = false) {
  const node = $('notice');
  node.textContent = msg;
  node.className = 'notice ' + (isError ? 'is-error' : 'is-ok');
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { node.textContent = ''; node.className = 'notice'; }, 10000);
}

const store = {
  get: (k) => { try { return sessionStorage.getItem('avio.' + k) || ''; } catch { return ''; } },
  set: (k, v) => {
    try { if (v) sessionStorage.setItem('avio.' + k, v); else sessionStorage.removeItem('avio.' + k); } catch { /* private mode */ }
  },
};

function fmtTime(v) {
  if (v == null || v === '') return '—';
  const d = new Date(typeof v === 'number' ? v : String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString(LANG);
}

const show = (v) => (v == null || v === '' ? '—' : String(v));

/** Only same-origin /pub/ paths may become an <img src>. */
function pubPath(u) {
  return typeof u === 'string' && u.startsWith('/pub/') ? u : null;
}

/** http(s) links only (attachment URLs come from message senders). */
function safeUrl(u) {
  try {
    const x = new URL(String(u), location.href);
    return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
  } catch { return null; }
}

// ---------------------------------------------------------------- API client
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

/**
 * One request. Resolves to {ok, status, text, data, headers}; never throws.
 * admin: send X-Admin-Token. Error answers keep their {"ok":false,"error":code} body.
 */
async function api(method, path, { body, admin = true, params } = {}) {
  const headers = { Accept: 'application/json' };
  if (admin) headers['X-Admin-Token'] = store.get('token');
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path + query(params), {
      method, headers, cache: 'no-store', credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, text: '', data: { ok: false, error: 'network_error' }, headers: new Headers() };
  }
  const text = await res.text().catch(() => '');
  let data = null;
  try { data = JSON.parse(text); } catch { /* not JSON */ }
  if (!data || typeof data !== 'object' || Array.isArray(data)) data = { ok: false, error: res.ok ? 'bad_response' : `http_${res.status}` };
  const ok = res.ok && data.ok !== false;
  if (admin && res.status === 401) notify(errText({ data }), true);
  return { ok, status: res.status, text, data, headers: res.headers };
}

/** /pub/* call: public key as query k, tenant from the selector. */
function pub(method, path, body) {
  return api(method, path, { admin: false, body, params: { tenant: body ? null : currentTenant(), k: store.get('pubkey') } });
}

// ---------------------------------------------------------------- 1. Health
let healthTimer = null;

async function loadHealth() {
  const r = await api('GET', '/health', { admin: false });
  const d = r.data;
  const box = $('health-status');
  box.dataset.ok = String(r.ok);
  const inbox = d.inbox || {}, outbox = d.outbox || {};
  const rows = [
    ['h_db', d.db], ['h_schema', d.schema_version], ['h_inbox_pending', inbox.pending], ['h_inbox_parked', inbox.parked],
    ['h_outbox_queued', outbox.queued], ['h_outbox_failed', outbox.failed],
    ['h_outbox_enabled', typeof d.outbox_enabled === 'boolean' ? t(d.outbox_enabled ? 'yes' : 'no') : null], ['h_uptime', d.uptime_s],
  ];
  const dl = el('dl');
  for (const [key, value] of rows) dl.append(el('div', { class: 'stat' }, el('dt', { text: t(key) }), el('dd', { text: show(value) })));
  box.replaceChildren(dl);
  if (!r.ok) box.append(el('p', { class: 'error', text: errText(r) }));
  $('health-updated').textContent = t('updated_at', { time: new Date().toLocaleTimeString(LANG) });
}

// ---------------------------------------------------------------- 2. Tenants
let tenants = [];
let lastTenant = null; // the tenant the tenant-scoped sections currently show
const unmasked = new Set();

const currentTenant = () => $('tenant-select').value;

/** Reloads the token table and the selector; prefer: tenant to select afterwards. */
async function loadTenants(prefer) {
  const r = await api('GET', '/admin/keys/list');
  if (!r.ok) { setErr('tenants-error', errText(r)); return r; }
  setErr('tenants-error', '');
  tenants = Array.isArray(r.data.items) ? r.data.items : [];
  renderTenants();
  fillTenantSelect(prefer);
  return r;
}

function renderTenants() {
  const body = $('tenants-list');
  body.replaceChildren();
  for (const item of tenants) {
    const id = String(item.tenant);
    const visible = unmasked.has(id);
    const token = el('code', { class: 'token', text: visible ? show(item.provider_token) : '••••••••••••••••' });
    if (!visible) token.setAttribute('aria-label', t('token_masked'));
    const actions = el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'secondary', 'data-toggle': id, 'aria-label': `${t(visible ? 'hide' : 'show')}: ${t('token_of', { tenant: id })}`,
        text: t(visible ? 'hide' : 'show'), onclick: () => toggleToken(id, visible) }),
      el('button', { type: 'button', class: 'secondary', 'aria-label': `${t('copy')}: ${t('token_of', { tenant: id })}`,
        text: t('copy'), onclick: (e) => copyToken(String(item.provider_token || ''), e.currentTarget) }),
      el('button', { type: 'button', class: 'danger', 'aria-label': `${t('rotate')}: ${t('token_of', { tenant: id })}`,
        text: t('rotate'), onclick: () => rotateToken(id) }));
    body.append(row([id, token, fmtTime(item.created_at), actions], ['col_tenant', 'col_token', 'col_created_at', 'col_actions']));
  }
  if (!tenants.length) body.append(emptyRow(4));
}

function toggleToken(id, visible) {
  if (visible) unmasked.delete(id); else unmasked.add(id);
  renderTenants();
  const again = $('tenants-list').querySelector(`[data-toggle="${CSS.escape(id)}"]`);
  if (again) again.focus();
}

function fillTenantSelect(prefer) {
  const select = $('tenant-select');
  const wanted = prefer || select.value || store.get('tenant');
  select.replaceChildren();
  if (!tenants.length) select.append(el('option', { value: '', text: t('no_tenants') }));
  for (const item of tenants) select.append(el('option', { value: String(item.tenant), text: String(item.tenant) }));
  const has = tenants.some((x) => String(x.tenant) === wanted);
  select.value = has ? wanted : (tenants.length ? String(tenants[0].tenant) : '');
  if (select.value !== lastTenant) onTenantChange();
}

/** The selected tenant changed: reset connect flows, reload tenant-scoped lists. */
function onTenantChange() {
  const tenant = currentTenant();
  lastTenant = tenant;
  store.set('tenant', tenant);
  $('send-tenant').value = tenant;
  resetTg();
  resetWa();
  closeLead();
  loadLeads();
  loadOutbox();
  if (tenant && store.get('pubkey')) { tgStatus(); waStatus(); }
}

async function addTenant(ev) {
  ev.preventDefault();
  const input = $('tenant-add-input');
  const value = input.value.trim();
  if (!/^[1-9]\d{0,17}$/.test(value)) { setErr('tenants-error', t('tenant_invalid')); input.focus(); return; }
  const r = await api('GET', `/admin/provider-token/${encodeURIComponent(value)}`);
  if (!r.ok) { setErr('tenants-error', errText(r)); return; }
  input.value = '';
  notify(t('tenant_added', { tenant: value }));
  await loadTenants(value);
}

async function rotateToken(tenant) {
  if (!window.confirm(t('confirm_rotate', { tenant }))) return;
  const r = await api('POST', `/admin/provider-token/${encodeURIComponent(tenant)}/rotate`);
  if (!r.ok) { reportErr('tenants-error', r); return; }
  notify(t('rotated', { tenant }));
  await loadTenants();
}

/** Clipboard API, else a hidden textarea + execCommand, else a prompt to copy by hand. */
async function copyToken(text, button) {
  let done = false;
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); done = true; }
  } catch { /* fall through */ }
  if (!done) {
    const area = el('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true', tabindex: '-1' });
    area.value = text;
    document.body.append(area);
    area.select();
    try { done = document.execCommand('copy'); } catch { done = false; }
    area.remove();
  }
  if (button) button.focus();
  if (done) notify(t('copied'));
  else window.prompt(t('copy_manual'), text);
}

// ---------------------------------------------------------------- Public key
function renderKeyState() {
  $('key-state').textContent = t(store.get('pubkey') ? 'key_set' : 'key_unset');
}

function saveKey(value) {
  store.set('pubkey', String(value || '').trim());
  $('key-input').value = '';
  renderKeyState();
  notify(t(store.get('pubkey') ? 'key_saved' : 'key_unset'));
  resetTg();
  resetWa();
  if (currentTenant() && store.get('pubkey')) { tgStatus(); waStatus(); }
}

/** Connect flows need a tenant and the public key; otherwise say so in the section's error line. */
function canConnect(errId) {
  if (!currentTenant()) { setErr(errId, t('need_tenant')); return false; }
  if (!store.get('pubkey')) { setErr(errId, t('need_key')); $('key-input').focus(); return false; }
  setErr(errId, '');
  return true;
}

function setState(id, prefix, state, extra) {
  const node = $(id);
  const label = STR[prefix + state] ? t(prefix + state) : state;
  node.textContent = `${label} (${state})${extra ? ' — ' + extra : ''}`;
  node.dataset.state = state;
}

/** Shows the QR image at url (same-origin /pub/ path), or hides it. */
function setQr(img, url) {
  if (url && img.getAttribute('src') !== url) img.src = url;
  if (!url) img.removeAttribute('src');
  img.hidden = !url;
}

// ---------------------------------------------------------------- 3. Telegram connect
// active: a login was started from this page (allows one automatic restart when the QR expires).
const tg = { poll: null, tick: null, deadline: null, active: false, autoRestarted: false, state: '' };

function stopTg() {
  clearTimeout(tg.poll);
  clearInterval(tg.tick);
  tg.poll = tg.tick = null;
}

function resetTg() {
  stopTg();
  Object.assign(tg, { deadline: null, active: false, autoRestarted: false, state: '' });
  setQr($('tg-qr'), null);
  $('tg-state').textContent = '—';
  $('tg-state').dataset.state = '';
  $('tg-expires').textContent = '';
  $('tg-new-qr').hidden = true;
  $('tg-2fa-form').hidden = true;
  setErr('tg-error', '');
}


async function tgStart(manual) {
  if (!canConnect('tg-error')) return;
  if (manual) tg.autoRestarted = false;
  stopTg();
  tg.active = true;
  $('tg-start').disabled = $('tg-new-qr').disabled = true;
  const tenant = currentTenant();
  const r = await pub('GET', '/pub/tg/start');
  $('tg-start').disabled = $('tg-new-qr').disabled = false;
  if (tenant !== currentTenant()) return; // tenant switched meanwhile
  if (!r.ok) {
    if (r.data.error === 'already_authorized') await tgStatus(); // show the current state, then the error
    else $('tg-new-qr').hidden = false;
    reportErr('tg-error', r);
    return;
  }
  tgRender(r);
}

async function tgStatus() {
  clearTimeout(tg.poll);
  if (!currentTenant() || !store.get('pubkey')) return;
  const tenant = currentTenant();
  const r = await pub('GET', '/pub/tg/status');
  if (tenant !== currentTenant()) return;
  if (!r.ok) {
    reportErr('tg-error', r);
    // transient worker errors: keep polling a pending flow; a rejected key stops it
    if (r.status !== 401 && (tg.state === 'need_qr' || tg.state === 'need_2fa')) tg.poll = setTimeout(tgStatus, 2000);
    return;
  }
  setErr('tg-error', '');
  tgRender(r);
}

/** Shows a status body; polls every 2 s while a QR or password is pending. */
function tgRender(r) {
  const s = r.data;
  const state = String(s.state || 'unknown');
  const before = tg.state;
  tg.state = state;
  setState('tg-state', 'tg_state_', state, state === 'failed' ? s.last_error : null);
  setQr($('tg-qr'), state === 'need_qr' ? pubPath(s.qr_url) : null);
  $('tg-2fa-form').hidden = state !== 'need_2fa';
  $('tg-new-qr').hidden = true;
  stopTg();
  // expires_at is server time: convert with the server's Date header to survive clock skew
  if (state === 'need_qr' && Number.isFinite(s.expires_at)) {
    const serverNow = Date.parse(r.headers.get('Date') || '') || Date.now();
    tg.deadline = Date.now() + (s.expires_at - serverNow);
    tg.tick = setInterval(tgTick, 1000);
    tgTick();
  } else {
    tg.deadline = null;
    $('tg-expires').textContent = '';
  }
  if (state === 'need_qr' || state === 'need_2fa') tg.poll = setTimeout(tgStatus, 2000);
  if (state === 'need_2fa' && before !== 'need_2fa') $('tg-password').focus();
  if (state === 'authorized' && before && before !== 'authorized') notify(t('tg_connected'));
  if (state === 'failed') tgExpired();
}

function tgTick() {
  if (tg.deadline == null) return;
  const left = Math.ceil((tg.deadline - Date.now()) / 1000);
  if (left <= 0) tgExpired();
  else $('tg-expires').textContent = t('tg_expires', { s: left });
}

/** QR expired or flow failed: restart once automatically, then offer the "new QR" button. */
function tgExpired() {
  stopTg();
  tg.deadline = null;
  setQr($('tg-qr'), null);
  $('tg-expires').textContent = t('tg_expired');
  if (tg.active && !tg.autoRestarted) {
    tg.autoRestarted = true;
    tgStart(false);
  } else {
    $('tg-new-qr').hidden = false;
  }
}

async function tgSubmit2fa(ev) {
  ev.preventDefault();
  if (!canConnect('tg-error')) return;
  const input = $('tg-password');
  const button = $('tg-2fa-submit');
  button.disabled = true;
  const r = await pub('POST', '/pub/tg/2fa', { tenant: Number(currentTenant()), password: input.value });
  button.disabled = false;
  input.value = ''; // never keep the password in the page
  if (!r.ok) { reportErr('tg-error', r); input.focus(); return; }
  setErr('tg-error', '');
  tgRender(r);
}

async function tgLogout() {
  if (!canConnect('tg-error')) return;
  if (!window.confirm(t('tg_confirm_logout', { tenant: currentTenant() }))) return;
  const r = await api('POST', '/pub/tg/logout', { admin: false, params: { tenant: currentTenant(), k: store.get('pubkey') } });
  if (!r.ok) { reportErr('tg-error', r); return; }
  resetTg();
  notify(t('tg_logged_out'));
  tgStatus();
}

// ---------------------------------------------------------------- 4. WhatsApp connect
const wa = { poll: null, until: 0, state: '' };

function stopWa() { clearTimeout(wa.poll); wa.poll = null; }

function resetWa() {
  stopWa();
  wa.until = 0;
  wa.state = '';
  setQr($('wa-qr'), null);
  $('wa-state').textContent = '—';
  $('wa-state').dataset.state = '';
  setErr('wa-error', '');
}

async function waStart() {
  if (!canConnect('wa-error')) return;
  stopWa();
  $('wa-start').disabled = true;
  const tenant = currentTenant();
  const r = await pub('POST', '/pub/wa/start');
  $('wa-start').disabled = false;
  if (tenant !== currentTenant()) return;
  if (!r.ok) { reportErr('wa-error', r); return; }
  wa.until = 0;
  waRender(r.data);
}

const waPending = () => wa.state === 'qr' || wa.state === 'starting';

async function waStatus() {
  stopWa();
  if (!currentTenant() || !store.get('pubkey')) return;
  const tenant = currentTenant();
  const r = await pub('GET', '/pub/wa/status');
  if (tenant !== currentTenant()) return;
  if (!r.ok) {
    reportErr('wa-error', r);
    if (r.status !== 401 && waPending() && Date.now() < wa.until) wa.poll = setTimeout(waStatus, 2000);
    return;
  }
  setErr('wa-error', '');
  waRender(r.data);
}

/** Shows a status body; while starting or showing a QR, polls every 2 s (for at most 10 minutes). */
function waRender(s) {
  const state = String(s.state || 'unknown');
  const before = wa.state;
  wa.state = state;
  setState('wa-state', 'wa_state_', state);
  setQr($('wa-qr'), state === 'qr' ? pubPath(s.qr_url) : null);
  if (state === 'ready' && before && before !== 'ready') notify(t('wa_connected'));
  if (!waPending()) { wa.until = 0; return; }
  if (!wa.until) wa.until = Date.now() + 10 * 60 * 1000;
  if (Date.now() < wa.until) wa.poll = setTimeout(waStatus, 2000);
}

// ---------------------------------------------------------------- Tables
/** A table row; labels feed the stacked (phone) layout via data-label. */
function row(cells, labels) {
  const tr = el('tr');
  cells.forEach((c, i) => tr.append(el('td', { 'data-label': t(labels[i]) }, c instanceof Node ? c : show(c))));
  return tr;
}

const emptyRow = (span) => el('tr', { class: 'empty' }, el('td', { colspan: span, text: t('no_items') }));

// ---------------------------------------------------------------- 5. Leads and messages
const leads = { before: null, lead: null, msgBefore: null };

function contactName(c) {
  c = c || {};
  const user = c.username ? '@' + String(c.username).replace(/^@/, '') : '';
  return String(c.name || user || c.phone || c.external_id || '?');
}

async function loadLeads(more = false) {
  const list = $('leads-list');
  const tenant = currentTenant();
  const r = await api('GET', '/admin/leads', { params: { tenant, limit: 20, before: more ? leads.before : null } });
  if (tenant !== currentTenant()) return;
  if (!r.ok) { setErr('leads-error', errText(r)); return; }
  setErr('leads-error', '');
  if (!more) list.replaceChildren();
  const items = Array.isArray(r.data.items) ? r.data.items : [];
  for (const lead of items) list.append(leadItem(lead));
  if (!list.children.length) list.append(el('li', { class: 'empty', text: t('no_items') }));
  leads.before = r.data.next_before ?? null;
  $('leads-more').hidden = leads.before == null;
}

function leadItem(lead) {
  const button = el('button', { type: 'button', class: 'lead', onclick: () => openLead(lead, button) },
    el('span', { class: 'lead-name', text: contactName(lead.contact) }),
    el('span', { class: 'muted', text: t('lead_meta', {
      id: lead.id, channel: show(lead.channel), status: show(lead.status), n: show(lead.message_count), time: fmtTime(lead.last_message_at),
    }) }));
  return el('li', {}, button);
}

function openLead(lead, button) {
  for (const b of document.querySelectorAll('#leads-list .lead')) b.removeAttribute('aria-current');
  button.setAttribute('aria-current', 'true');
  leads.lead = lead;
  $('lead-title').textContent = t('lead_heading', { name: contactName(lead.contact), id: lead.id });
  loadMessages(false);
}

function closeLead() {
  leads.lead = null;
  $('lead-title').textContent = t('lead_pick');
  $('lead-messages').replaceChildren();
  $('lead-older').hidden = true;
}

async function loadMessages(older) {
  if (!leads.lead) return;
  const box = $('lead-messages');
  const r = await api('GET', `/admin/leads/${encodeURIComponent(leads.lead.id)}/messages`,
    { params: { limit: 50, before: older ? leads.msgBefore : null } });
  if (!r.ok) { setErr('leads-error', errText(r)); return; }
  setErr('leads-error', '');
  // the API answers newest first; a chat reads oldest first
  const nodes = (Array.isArray(r.data.items) ? r.data.items : []).slice().reverse().map(messageItem);
  if (older) box.prepend(...nodes);
  else {
    box.replaceChildren(...nodes);
    if (!nodes.length) box.append(el('li', { class: 'empty', text: t('no_items') }));
    box.scrollTop = box.scrollHeight;
  }
  leads.msgBefore = r.data.next_before ?? null;
  $('lead-older').hidden = leads.msgBefore == null;
}

function messageItem(m) {
  const dir = m.direction === 'out' ? 'out' : 'in';
  const meta = [t('dir_' + dir), fmtTime(m.ts), m.status, m.error].filter((x) => x != null && x !== '').join(' · ');
  const li = el('li', { class: 'msg msg-' + dir }, el('div', { class: 'msg-meta', text: meta }));
  if (m.text) li.append(el('p', { class: 'msg-text', text: String(m.text) }));
  const media = Array.isArray(m.media) ? m.media : [];
  if (media.length) li.append(el('ul', { class: 'msg-media' }, ...media.map((a) => el('li', {}, mediaNode(a)))));
  return li;
}

function mediaNode(a) {
  const item = a && typeof a === 'object' ? a : { url: a };
  const label = [item.type, item.name || item.mime].filter(Boolean).map(String).join(': ') || t('attachment');
  const href = safeUrl(item.url);
  return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }) : el('span', { text: label });
}

// ---------------------------------------------------------------- 6. Send
async function sendMessage(ev) {
  ev.preventDefault();
  const body = {
    tenant: Number($('send-tenant').value),
    channel: $('send-channel').value,
    to: $('send-to').value.trim(),
    text: $('send-text').value,
  };
  const path = $('send-async').checked ? '/send?async=1' : '/send';
  const button = $('send-submit');
  button.disabled = true;
  const r = await api('POST', path, { body });
  button.disabled = false;
  // status line and body exactly as the server answered
  $('send-result').textContent = `HTTP ${r.status}\n${r.text || JSON.stringify(r.data)}`;
  $('send-result').dataset.status = String(r.status);
  const code = r.ok ? '' : r.data.error;
  const hint = code === 'outbox_disabled' ? t('hint_outbox_disabled') : code === 'not_whitelisted' ? t('hint_not_whitelisted') : '';
  $('send-hint').textContent = hint;
  $('send-hint').hidden = !hint;
  if (r.ok) notify(r.data.queued ? t('send_queued', { id: show(r.data.id) }) : t('send_ok'));
  else notify(errText(r), true);
  if (r.ok) { loadOutbox(); loadHealth(); loadLeads(); }
}

// ---------------------------------------------------------------- 7. Outbox and inbox jobs
const OUTBOX_COLS = ['id', 'channel', 'to', 'status', 'reason', 'attempts', 'last_error', 'created_at'];
const INBOX_COLS = ['id', 'tenant', 'kind', 'attempts', 'last_error'];
let outboxBefore = null;

async function loadOutbox(more = false) {
  const body = $('outbox-list');
  const tenant = currentTenant();
  const r = await api('GET', '/admin/outbox', {
    params: { tenant, status: $('outbox-status').value, limit: 20, before: more ? outboxBefore : null },
  });
  if (tenant !== currentTenant()) return;
  if (!r.ok) { setErr('outbox-error', errText(r)); return; }
  setErr('outbox-error', '');
  if (!more) body.replaceChildren();
  for (const job of r.data.items || []) {
    body.append(row(OUTBOX_COLS.map((c) => (c === 'created_at' ? fmtTime(job[c]) : job[c])), OUTBOX_COLS.map((c) => 'col_' + c)));
  }
  if (!body.children.length) body.append(emptyRow(OUTBOX_COLS.length));
  outboxBefore = r.data.next_before ?? null;
  $('outbox-more').hidden = outboxBefore == null;
}

async function loadInbox() {
  const body = $('inbox-list');
  const r = await api('GET', '/admin/inbox', { params: { status: 'parked', limit: 50 } });
  if (!r.ok) { setErr('inbox-error', errText(r)); return; }
  setErr('inbox-error', '');
  body.replaceChildren();
  for (const job of r.data.items || []) body.append(row(INBOX_COLS.map((c) => job[c]), INBOX_COLS.map((c) => 'col_' + c)));
  if (!body.children.length) body.append(emptyRow(INBOX_COLS.length));
}

// ---------------------------------------------------------------- Session: sign in / out
function showLogin(message) {
  $('main').hidden = true;
  $('logout').hidden = true;
  $('token-form').hidden = false;
  setErr('token-error', message || '');
  $('token-input').focus();
}

/** Checks the stored token with a real admin call, then opens the console. */
async function enter() {
  const r = await loadTenants();
  if (r.status === 401) { store.set('token', ''); showLogin(errText(r)); return; }
  $('token-form').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = false;
  renderKeyState();
  loadHealth();
  loadInbox();
  clearInterval(healthTimer);
  healthTimer = setInterval(() => { if ($('health-auto').checked && !document.hidden) loadHealth(); }, 10000);
}

function logout() {
  clearInterval(healthTimer);
  resetTg();
  resetWa();
  closeLead();
  for (const key of ['token', 'pubkey', 'tenant']) store.set(key, '');
  tenants = [];
  lastTenant = null;
  unmasked.clear();
  // drop everything the token revealed
  for (const id of ['tenants-list', 'leads-list', 'outbox-list', 'inbox-list', 'health-status', 'tenant-select']) $(id).replaceChildren();
  for (const id of ['send-result', 'health-updated']) $(id).textContent = '';
  for (const id of ['send-to', 'send-text', 'send-tenant', 'key-input', 'tenant-add-input']) $(id).value = '';
  $('send-hint').hidden = true;
  $('leads-more').hidden = $('outbox-more').hidden = true;
  showLogin('');
  notify(t('logged_out'));
}

// ---------------------------------------------------------------- Wiring
function init() {
  translatePage();
  const on = (id, type, fn) => $(id).addEventListener(type, fn);
  on('token-form', 'submit', (ev) => {
    ev.preventDefault();
    const value = $('token-input').value.trim();
    if (!value) return;
    store.set('token', value);
    $('token-input').value = '';
    enter();
  });
  on('logout', 'click', logout);
  on('health-refresh', 'click', loadHealth);
  on('tenants-refresh', 'click', () => loadTenants());
  on('tenant-select', 'change', onTenantChange);
  on('tenant-add-form', 'submit', addTenant);
  on('key-form', 'submit', (ev) => { ev.preventDefault(); saveKey($('key-input').value); });
  on('key-use-admin', 'click', () => saveKey(store.get('token')));
  on('tg-start', 'click', () => tgStart(true));
  on('tg-new-qr', 'click', () => tgStart(true));
  on('tg-refresh', 'click', () => { if (canConnect('tg-error')) tgStatus(); });
  on('tg-logout', 'click', tgLogout);
  on('tg-2fa-form', 'submit', tgSubmit2fa);
  on('wa-start', 'click', waStart);
  on('wa-refresh', 'click', () => { if (canConnect('wa-error')) { wa.until = 0; waStatus(); } });
  on('leads-refresh', 'click', () => loadLeads(false));
  on('leads-more', 'click', () => loadLeads(true));
  on('lead-older', 'click', () => loadMessages(true));
  on('send-form', 'submit', sendMessage);
  on('outbox-status', 'change', () => loadOutbox(false));
  on('outbox-refresh', 'click', () => loadOutbox(false));
  on('outbox-more', 'click', () => loadOutbox(true));
  on('inbox-refresh', 'click', loadInbox);
  if (store.get('token')) enter(); else showLogin('');
}

document.addEventListener('DOMContentLoaded', init);
