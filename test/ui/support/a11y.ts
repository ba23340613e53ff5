/**
 * Accessibility checks run inside the page (page.evaluate): text contrast against the effective
 * background (WCAG 2.x: 4.5:1, 3:1 for large text), a name for every form control and button, a
 * text alternative for every chart. The function is self-contained because it is serialised
 * into the browser.
 */
export interface A11yFinding {
  rule: 'contrast' | 'name' | 'chart-text';
  element: string;
  detail: string;
}

export function auditPage(): A11yFinding[] {
  const findings: A11yFinding[] = [];
  const describe = (el: Element) =>
    `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
  const rgba = (s: string): [number, number, number, number] => {
    const m = s.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
    return [m[0] ?? 0, m[1] ?? 0, m[2] ?? 0, m.length > 3 ? (m[3] ?? 1) : 1];
  };
  const luminance = ([r, g, b]: number[]) => {
    const lin = (c: number) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r ?? 0) + 0.7152 * lin(g ?? 0) + 0.0722 * lin(b ?? 0);
  };
  const background = (el: Element | null): number[] => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const checked = new Set<Element>();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || checked.has(el) || !(n.textContent ?? '').trim()) continue;
    checked.add(el);
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (
      style.visibility === 'hidden' ||
      style.display === 'none' ||
      rect.width <= 1 ||
      rect.height <= 1 ||
      el.closest('svg') ||
      el.closest('details:not([open])')
    )
      continue;
    const fg = rgba(style.color);
    const l1 = luminance(fg);
    const l2 = luminance(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5))
      findings.push({ rule: 'contrast', element: describe(el), detail: `${ratio.toFixed(2)}:1` });
  }
  for (const c of document.querySelectorAll('input, select, textarea, button')) {
    const named =
      (c as HTMLInputElement).labels?.length ||
      c.getAttribute('aria-label') ||
      c.getAttribute('aria-labelledby') ||
      (c.tagName === 'BUTTON' && (c.textContent ?? '').trim());
    if (!named) findings.push({ rule: 'name', element: describe(c), detail: 'no accessible name' });
  }
  for (const svg of document.querySelectorAll('svg')) {
    const ids = (svg.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean);
    const text = ids
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' ')
      .trim();
    if (svg.getAttribute('role') !== 'img' || text.length < 10)
      findings.push({ rule: 'chart-text', element: describe(svg), detail: 'chart without a text alternative' });
  }
  return findings;
}
