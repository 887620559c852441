// strophe-bosh.cjs - Strophe.js (a third-party BOSH client, the one JSXC
// and Converse.js build on) in node, for tests/proto/test_bosh.py.
//
//   node strophe-bosh.cjs login URL JID PASSWORD PEER [reload]
//     log in over BOSH, send presence and "from strophe" to PEER, wait for
//     one chat message; then log out (terminate), or with "reload" leave
//     as a page reload does and print the session to attach to
//   node strophe-bosh.cjs attach URL JID SID RID
//     attach to that session (Strophe's attach(), what JSXC does after a
//     page reload), wait for one chat message, log out
//
// One JSON object per line on stdout: {ev: status|sent|message|saved|
// exception|timeout, ...}. STROPHE_DEBUG=1 adds the XML both ways.
// Exit status: 0 done, 2 timeout.

// node has no XMLHttpRequest: xhr2's, with the responseXML a browser
// gives (Strophe's fallback on responseText returns nothing).
const XHR2 = require('xhr2');
const { DOMParser } = require('@xmldom/xmldom');
globalThis.XMLHttpRequest = class extends XHR2 {
  get responseXML() {
    if (this.readyState !== 4 || !this.responseText) return null;
    return new DOMParser().parseFromString(this.responseText, 'text/xml');
  }
};
const { Strophe, $msg, $pres } = require('strophe.js');

const TIMEOUT_MS = 20000;
const [mode, url, jid, a4, a5, a6] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));

process.on('uncaughtException', (e) => out({ ev: 'exception', e: String(e && e.stack) }));
setTimeout(() => { out({ ev: 'timeout' }); process.exit(2); }, TIMEOUT_MS);

const conn = new Strophe.Connection(url);
if (process.env.STROPHE_DEBUG) {
  conn.xmlInput = (el) => console.log('IN', new XMLSerializer().serializeToString(el));
  conn.xmlOutput = (el) => console.log('OUT', new XMLSerializer().serializeToString(el));
}

// The first chat message: printed, then the end chosen by the mode.
function onMessage(done) {
  conn.addHandler((m) => {
    const body = m.getElementsByTagName('body')[0];
    out({ ev: 'message', from: m.getAttribute('from'), body: body && body.textContent });
    done();
    return false;
  }, null, 'message', 'chat');
}

function status(s, cond) {
  out({ ev: 'status', status: s, cond: cond || null });
  if (s === Strophe.Status.DISCONNECTED) process.exit(0);
}

if (mode === 'login') {
  const [pw, peer, reload] = [a4, a5, a6];
  conn.connect(jid, pw, (s, cond) => {
    status(s, cond);
    if (s !== Strophe.Status.CONNECTED) return;
    onMessage(() => {
      if (reload !== 'reload') {
        conn.disconnect();
        return;
      }
      // A page reload: the browser drops its requests and the page
      // keeps jid, sid and the next rid (JSXC keeps them in storage).
      out({ ev: 'saved', jid: conn.jid, sid: conn._proto.sid, rid: conn._proto.rid });
      process.exit(0);
    });
    conn.send($pres());
    conn.send($msg({ to: peer, type: 'chat' }).c('body').t('from strophe'));
    out({ ev: 'sent', jid: conn.jid });
  });
} else if (mode === 'attach') {
  const [sid, rid] = [a4, Number(a5)];
  conn.attach(jid, sid, rid, (s, cond) => {
    status(s, cond);
    if (s !== Strophe.Status.ATTACHED) return;
    onMessage(() => conn.disconnect());
    out({ ev: 'attached', jid: conn.jid });
  });
} else {
  console.error('usage: strophe-bosh.cjs login|attach URL JID ...');
  process.exit(100);
}
