// page.js - start Converse.js against xmppd. The query string sets:
//   ws        the WebSocket URL (default ws://HOST:5280/xmpp-websocket,
//             HOST being the host this page was loaded from)
//   bosh      a BOSH URL (e.g. http://HOST:5280/http-bind): BOSH instead
//             of the WebSocket
//   jid, password   log in at once (auto_login); without them Converse
//             shows its login form
// The plugin "xmppd-test" keeps what the test looks at in window.xmppdTest:
// Converse's api, the events of the session in order, every connection
// status in order (Strophe.Status numbers), and status(): the current one
// with its message (what Converse shows when a login fails).
const params = new URLSearchParams(location.search);
const ws = params.get('ws') || 'ws://' + (location.hostname || 'localhost') + ':5280/xmpp-websocket';
const jid = params.get('jid');
const password = params.get('password');
const bosh = params.get('bosh');

const test = window.xmppdTest = { events: [], statuses: [], api: null, converse: null };

converse.plugins.add('xmppd-test', {
    initialize() {
        const _converse = this._converse;
        const { api } = _converse;
        test.api = api;
        test.converse = _converse;
        for (const ev of ['connected', 'reconnected', 'disconnected', 'message',
            'messageSend', 'chatBoxInitialized', 'rosterContactsFetched']) {
            api.listen.on(ev, () => test.events.push(ev));
        }
        api.listen.on('connfeedback', (fb) => {
            const st = fb.get('connection_status');
            if (test.statuses[test.statuses.length - 1] !== st) test.statuses.push(st);
        });
        test.status = () => {
            const fb = _converse.state && _converse.state.connfeedback;
            return fb ? { status: fb.get('connection_status'), message: fb.get('message') } : null;
        };
    },
});

converse.initialize({
    // Converse prefers the WebSocket when it has both: one or the other.
    websocket_url: bosh ? undefined : ws,
    bosh_service_url: bosh || undefined,
    discover_connection_methods: false,
    assets_path: new URL('node_modules/converse.js/dist/', location.href).pathname,
    view_mode: 'fullscreen',
    i18n: 'en',
    jid: jid || undefined,
    password: password || undefined,
    auto_login: !!(jid && password),
    auto_reconnect: false,
    allow_non_roster_messaging: true,
    play_sounds: false,
    show_desktop_notifications: false,
    omemo_default: false,
    loglevel: 'debug',
    whitelisted_plugins: ['xmppd-test'],
});
