// drive.js PORT LOG - drive the page of a running Chromium over the
// DevTools protocol (chrome-remote-interface) for tests/proto/test_browser.py.
//
// PORT is Chromium's --remote-debugging-port (127.0.0.1). The driver
// attaches to the browser's first page and then reads one JSON command a
// line on stdin, answering each with one JSON line on stdout:
//   {"id": N, "ok": true, "value": ...} or {"id": N, "ok": false, "error": "..."}
// Commands ({"id": N, "op": ..., ...}):
//   goto URL                  navigate and wait for the load event
//   eval EXPR                 evaluate EXPR in the page (promises awaited);
//                             value is the result, copied as JSON
//   type SELECTOR TEXT        focus the element, insert TEXT as typed text
//   key KEY                   press and release a key ("Enter")
//   click SELECTOR            scroll the (first) element into view and click
//                             the middle of it with the mouse
//   files SELECTOR PATHS      set the files of an <input type=file> and let
//                             the page see its change event
//   screenshot PATH           save the viewport as a PNG at PATH
//   quit                      detach and exit
// Everything the page logs (console, uncaught exceptions) is appended to
// LOG, one line each, so that a failing test can show what Converse said.
// The driver never starts or stops Chromium: the test does, by PID.
'use strict';

const fs = require('fs');
const readline = require('readline');
const CDP = require('chrome-remote-interface');

const [port, logPath] = process.argv.slice(2);
if (!port || !logPath) {
    process.stderr.write('usage: node drive.js PORT LOG\n');
    process.exit(2);
}
const log = fs.createWriteStream(logPath, { flags: 'a' });

function note(kind, text) {
    log.write(new Date().toISOString() + ' ' + kind + ' ' + text + '\n');
}

const KEYS = {
    Enter: { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' },
};

async function main() {
    const client = await CDP({ host: '127.0.0.1', port: Number(port) });
    const { Page, Runtime, Input, DOM } = client;
    Runtime.consoleAPICalled(({ type, args }) => {
        note('console.' + type, args.map((a) =>
            a.value !== undefined ? String(a.value) : a.description || a.type).join(' '));
    });
    Runtime.exceptionThrown(({ exceptionDetails: d }) => {
        note('exception', (d.exception && d.exception.description) || d.text);
    });
    await Promise.all([Page.enable(), Runtime.enable(), DOM.enable()]);

    async function evaluate(expression) {
        const r = await Runtime.evaluate({ expression, awaitPromise: true, returnByValue: true });
        if (r.exceptionDetails) {
            const d = r.exceptionDetails;
            throw new Error((d.exception && d.exception.description) || d.text);
        }
        return r.result.value;
    }

    const ops = {
        async goto({ url }) {
            const loaded = Page.loadEventFired();
            const r = await Page.navigate({ url });
            if (r.errorText) throw new Error('navigate ' + url + ': ' + r.errorText);
            await loaded;
        },
        eval: ({ expr }) => evaluate(expr),
        async type({ selector, text }) {
            const found = await evaluate('(() => { const e = document.querySelector(' +
                JSON.stringify(selector) + '); if (!e) return false; e.focus(); return true; })()');
            if (!found) throw new Error('no element ' + selector);
            await Input.insertText({ text });
        },
        async click({ selector }) {
            const box = await evaluate('(() => { const e = document.querySelector(' +
                JSON.stringify(selector) + '); if (!e) return null; e.scrollIntoView({block: "center"});' +
                ' const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()');
            if (!box) throw new Error('no element ' + selector);
            for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
                await Input.dispatchMouseEvent({ type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
            }
        },
        async key({ key }) {
            const k = KEYS[key];
            if (!k) throw new Error('unknown key ' + key);
            await Input.dispatchKeyEvent(Object.assign({ type: 'keyDown' }, k));
            await Input.dispatchKeyEvent(Object.assign({ type: 'keyUp' }, k, { text: undefined }));
        },
        async files({ selector, paths }) {
            const { root } = await DOM.getDocument({ depth: -1 });
            const { nodeId } = await DOM.querySelector({ nodeId: root.nodeId, selector });
            if (!nodeId) throw new Error('no element ' + selector);
            await DOM.setFileInputFiles({ nodeId, files: paths });
        },
        async screenshot({ path }) {
            const { data } = await Page.captureScreenshot({ format: 'png' });
            fs.writeFileSync(path, Buffer.from(data, 'base64'));
            return path;
        },
        async quit() {
            await client.close();
            return null;
        },
    };

    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
        if (!line.trim()) continue;
        let cmd = {};
        let answer;
        try {
            cmd = JSON.parse(line);
            const op = ops[cmd.op];
            if (!op) throw new Error('unknown op ' + cmd.op);
            const value = await op(cmd);
            answer = { id: cmd.id, ok: true, value: value === undefined ? null : value };
        } catch (e) {
            answer = { id: cmd.id, ok: false, error: String((e && e.message) || e) };
        }
        process.stdout.write(JSON.stringify(answer) + '\n');
        if (cmd.op === 'quit') break;
    }
    // stdin may still be open: leave now, once the log is written
    log.end(() => process.exit(0));
}

main().catch((e) => {
    process.stderr.write('drive.js: ' + ((e && e.stack) || e) + '\n');
    process.exit(1);
});
