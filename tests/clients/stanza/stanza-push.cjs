// stanza-push.cjs - StanzaJS (a third-party client library, in node) over
// WebSocket, registering for XEP-0357 push notifications, for
// tests/proto/test_push.py.
//
//   node stanza-push.cjs URL JID PASSWORD enable APP NODE SECRET
//     log in, read the account's disco#info, register APP's NODE with a
//     publish-options form holding SECRET ("-": no form), log out
//   node stanza-push.cjs URL JID PASSWORD disable APP
//     log in, unregister every node of APP, log out
//
// One JSON object per line on stdout: {ev: features|enabled|disabled|
// error|exception|timeout, ...}. Exit status: 0 done, 1 error, 2 timeout.
const XMPP = require('stanza');

const TIMEOUT_MS = 20000;
const [url, jid, password, action, app, node, secret] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));

process.on('uncaughtException', (e) => { out({ ev: 'exception', e: String(e && e.stack) }); process.exit(1); });
setTimeout(() => { out({ ev: 'timeout' }); process.exit(2); }, TIMEOUT_MS);

const client = XMPP.createClient({
  jid, password, resource: 'stanza',
  transports: { websocket: url, bosh: false },
});
client.on('disconnected', () => process.exit(0));
client.on('session:started', async () => {
  try {
    if (action === 'enable') {
      const info = await client.getDiscoInfo(jid.split('/')[0]);
      out({ ev: 'features', features: info.features });
      // SECRET "-": no publish-options at all
      await client.enableNotifications(app, node, secret === '-' ? undefined : [
        { name: 'FORM_TYPE', type: 'hidden',
          value: 'http://jabber.org/protocol/pubsub#publish-options' },
        { name: 'secret', value: secret },
      ]);
      out({ ev: 'enabled' });
    } else {
      await client.disableNotifications(app);
      out({ ev: 'disabled' });
    }
  } catch (e) {
    out({ ev: 'error', e: JSON.stringify(e && e.error ? e.error : String(e)) });
    process.exitCode = 1;
  }
  client.disconnect();
});
client.connect();
