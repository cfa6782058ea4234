/** Tiny DOM builders: the page has no framework, so these keep panel code short. */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets text only when it differs: unchanged rows cost no DOM work per frame. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node: Element, name: string, value: string): void {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** A panel: a titled box whose body the caller fills. */
export function panel(id: string, title: string): { root: HTMLElement; head: HTMLElement; body: HTMLElement } {
  const root = el('section', 'panel');
  root.id = id;
  const head = el('header', 'panel-head');
  head.append(el('h2', '', title));
  const body = el('div', 'panel-body');
  root.append(head, body);
  return { root, head, body };
}

/** A short note shown in place of a panel's content (nothing to show, or the data is unavailable). */
export function note(text: string): HTMLElement {
  return el('p', 'note', text);
}

/** Briefly highlights a node that just changed; recycled rows cancel a flash that belonged to another key. */
export function flash(node: Element): void {
  node.animate([{ backgroundColor: 'rgba(255, 214, 102, 0.55)' }, { backgroundColor: 'rgba(255, 214, 102, 0)' }], {
    duration: 900,
    easing: 'ease-out',
  });
}

export function cancelFlash(node: Element): void {
  for (const animation of node.getAnimations()) animation.cancel();
}
