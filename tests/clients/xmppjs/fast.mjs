// fast.mjs - xmpp.js (@xmpp/client, a third-party client library, in
// node) logging in with SASL2, Bind2 and FAST, for
// tests/proto/test_xmppjs.py.
//
//   node fast.mjs SERVICE DOMAIN USERNAME PASSWORD SERVICE2 [TAG]
//
// SERVICE and SERVICE2 are xmpps://ADDRESS:PORT (direct TLS); the
// server's certificate is checked for DOMAIN, as a client does that found
// the address by SRV (NODE_EXTRA_CA_CERTS names the test's certificate).
// TAG is the Bind2 tag (xmpp.js's `resource` option), "xmppjs" if none.
//
// What xmpp.js does by itself: SASL2 when offered (SCRAM-SHA-1 first),
// <request-token mechanism='HT-SHA-256-NONE'/> when it holds no token,
// Bind2 with <enable/> (stream management) inline; on a reconnection the
// token it kept in memory (HT-SHA-256-NONE) and <resume/> inside
// <authenticate/>.
//
// Commands, one a line on stdin:
//   send TO BODY   a chat message
//   drop           cut the TCP connection without closing the stream or
//                  TLS (the server detaches the session), no reconnection
//   reconnect      connect again, to SERVICE2
//   stop           close the stream, exit 0
//
// One JSON object a line on stdout, {event: ...}: agent {id}, status
// {status}, online {jid}, sm {enabled, id} (just after online), token
// {mechanism, token, expiry}, message {from, body, delay}, resumed {jid},
// reconnected, dropped, sent, error {error}, exception {error},
// timeout; with XMPPJS_DEBUG set, in {xml} and out {xml} for every
// element read and written. Exit status: 0 stopped, 1 exception, 2
// timeout.
import { client, xml } from "@xmpp/client";
import readline from "node:readline";

const TIMEOUT_MS = 60000;
const [service, domain, username, password, service2, tag = "xmppjs"] =
  process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

process.on("uncaughtException", (e) => {
  out({ event: "exception", error: String(e && e.stack) });
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  out({ event: "exception", error: String(e && e.stack) });
  process.exit(1);
});
setTimeout(() => {
  out({ event: "timeout" });
  process.exit(2);
}, TIMEOUT_MS).unref();

// xmpp.js's own default user agent is a random UUID; the test needs to
// know it (the server keys tokens by it), so it is made here the same way.
const agentId = globalThis.crypto.randomUUID();
out({ event: "agent", id: agentId });

const xmpp = client({
  service,
  domain,
  username,
  password,
  resource: tag,
  userAgent: xml(
    "user-agent",
    { id: agentId },
    xml("software", {}, "xmpp.js"),
    xml("device", {}, "test"),
  ),
});

// With XMPPJS_BIND2_MORE set, carbons and client state are enabled inline
// too, through xmpp.js's own Bind2 extension point (bind2.use: what an
// application adds for the features the server offers inline).
if (process.env.XMPPJS_BIND2_MORE) {
  xmpp.bind2.use("urn:xmpp:carbons:2", () => xml("enable", { xmlns: "urn:xmpp:carbons:2" }));
  xmpp.bind2.use("urn:xmpp:csi:0", () => xml("inactive", { xmlns: "urn:xmpp:csi:0" }));
}

// xmpp.js gives a stream 2 s to open; a test machine under load (four
// tests at a time, handlers under AddressSanitizer) can take longer.
xmpp.timeout = 15000;

// Direct TLS to an address: the certificate is checked for the domain.
const socketParameters = xmpp.socketParameters.bind(xmpp);
xmpp.socketParameters = (s) => ({ ...socketParameters(s), servername: domain });

// The token xmpp.js keeps (in memory: its default store) is reported.
const saveToken = xmpp.fast.saveToken.bind(xmpp.fast);
xmpp.fast.saveToken = async (t) => {
  out({ event: "token", mechanism: t.mechanism, token: t.token, expiry: t.expiry });
  return saveToken(t);
};

// XMPPJS_DEBUG=1: every element in and out too ({event: in|out, xml}).
if (process.env.XMPPJS_DEBUG) {
  xmpp.on("element", (el) => out({ event: "in", xml: el.toString() }));
  xmpp.on("send", (el) => out({ event: "out", xml: el.toString() }));
}
xmpp.on("error", (e) => out({ event: "error", error: String(e && (e.condition || e.message || e)) }));
xmpp.on("status", (status) => out({ event: "status", status }));
xmpp.on("online", (jid) => {
  out({ event: "online", jid: jid.toString() });
  // Bind2's <bound/> is read after online is emitted: its <enabled/> next.
  setImmediate(() => out({
    event: "sm",
    enabled: xmpp.streamManagement.enabled,
    id: xmpp.streamManagement.id,
  }));
});
xmpp.streamManagement.on("resumed", () =>
  out({ event: "resumed", jid: xmpp.jid.toString() }));
xmpp.reconnect.on("reconnected", () => out({ event: "reconnected" }));
xmpp.on("stanza", (st) => {
  if (st.is("message") && st.getChild("body")) {
    const delay = st.getChild("delay", "urn:xmpp:delay");
    out({
      event: "message",
      from: st.attrs.from,
      body: st.getChildText("body"),
      delay: delay ? delay.attrs.stamp : null,
    });
  }
});

async function command(line) {
  const [cmd, ...rest] = line.trim().split(" ");
  if (cmd === "send") {
    const [to, ...words] = rest;
    await xmpp.send(xml("message", { to, type: "chat" }, xml("body", {}, words.join(" "))));
    out({ event: "sent", to });
  } else if (cmd === "drop") {
    // No </stream:stream>, no TLS close_notify: the connection is lost.
    xmpp.reconnect.stop();
    xmpp.socket.socket.destroy();
    out({ event: "dropped" });
  } else if (cmd === "reconnect") {
    // @xmpp/reconnect connects to entity.options.service.
    xmpp.options.service = service2;
    await xmpp.reconnect.reconnect();
  } else if (cmd === "stop") {
    await xmpp.stop();
    process.exit(0);
  } else if (cmd) {
    out({ event: "error", error: "unknown command " + cmd });
  }
}

// Commands one after the other, in the order given.
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  queue = queue.then(() => command(line)).catch((e) =>
    out({ event: "error", error: String(e && e.stack) }));
});
// The test gone (stdin closed): so is the client.
rl.on("close", () => queue.then(() => process.exit(0)));

xmpp.start().catch((e) => out({ event: "error", error: String(e && e.stack) }));
