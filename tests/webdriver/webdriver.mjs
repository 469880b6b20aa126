// A small W3C WebDriver client over fetch: just what the app test needs, no dependencies.
//
// tauri-driver speaks WebDriver on its port and starts the app through WebKitWebDriver; each
// session is one app process.

/** The key of an element reference in WebDriver's JSON (W3C). */
export const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Starts the app at `application` through the driver at `base` (http://127.0.0.1:4444). */
  static async start(base, application, args = []) {
    const answer = await call(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: { browserName: 'wry', 'tauri:options': { application, args } },
      },
    });
    return new Session(base, answer.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  async quit() {
    try {
      await call(this.base, 'DELETE', `/session/${this.id}`);
    } catch {
      // The app may already be gone; quitting is best effort.
    }
  }

  /** Runs `script` (a function body) in the page and returns its value. */
  exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  /** Runs `script` whose last argument is a callback, and returns what it is called with. */
  execAsync(script, args = []) {
    return this.cmd('POST', '/execute/async', { script, args });
  }

  async find(testId) {
    const found = await this.cmd('POST', '/elements', {
      using: 'css selector',
      value: `[data-testid="${testId}"]`,
    });
    return found.map((e) => e[ELEMENT]);
  }

  /** The element's text content (WebKitWebDriver's own "element text" leaves out some of a
   * grid button's children, so the page is asked instead). */
  async text(element) {
    return this.exec('return arguments[0].textContent', [{ [ELEMENT]: element }]);
  }

  async attr(element, name) {
    return this.cmd('GET', `/element/${element}/attribute/${name}`);
  }

  async click(element) {
    return this.cmd('POST', `/element/${element}/click`, {});
  }

  async type(element, text) {
    return this.cmd('POST', `/element/${element}/value`, { text });
  }

  /** Types into whatever has focus (the page body): how a keyboard-wedge scanner arrives. */
  async keys(text) {
    const actions = [];
    for (const ch of text) {
      actions.push({ type: 'keyDown', value: ch }, { type: 'keyUp', value: ch });
    }
    return this.cmd('POST', '/actions', {
      actions: [{ type: 'key', id: 'scanner', actions }],
    });
  }

  /** Waits until `check()` returns a truthy value (returned), or fails after `ms`. */
  async until(what, check, ms = 20_000) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
      try {
        const value = await check();
        if (value) return value;
        last = value;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new WebDriverError(`timed out waiting for ${what} (last: ${last})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The first element with `testId`, once there is one. */
  one(testId, ms) {
    return this.until(`[data-testid=${testId}]`, async () => (await this.find(testId))[0], ms);
  }
}

/** The Enter key in WebDriver's key space. */
export const ENTER = '\uE007';
/** The Escape key. */
export const ESCAPE = '\uE00C';

async function call(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const v = json.value ?? {};
    throw new WebDriverError(`${method} ${path}: ${v.error ?? response.status}: ${v.message ?? ''}`);
  }
  return json.value;
}
