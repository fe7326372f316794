/* domify (how bpmn-js, dmn-js and the properties panel turn HTML strings into nodes) with style attributes applied
   through the CSSOM: the page's Content-Security-Policy (style-src 'self') refuses style attributes in parsed HTML,
   not styles set from script. */
import parse from 'domify';

const STYLE = /\sstyle=("([^"]*)"|'([^']*)')/g;
const MARK = 'data-csp-style';

export default function domify(html, doc) {
  if (typeof html !== 'string' || html.indexOf('style=') < 0) {
    return parse(html, doc);
  }
  const styles = [];
  const node = parse(html.replace(STYLE, (_, quoted, double, single) => {
    styles.push(double !== undefined ? double : single);
    return ' ' + MARK + '="' + (styles.length - 1) + '"';
  }), doc);
  const apply = el => {
    el.style.cssText = styles[Number(el.getAttribute(MARK))];
    el.removeAttribute(MARK);
  };
  if (node.nodeType === 1 && node.hasAttribute(MARK)) {
    apply(node);
  }
  if (node.querySelectorAll) {
    node.querySelectorAll('[' + MARK + ']').forEach(apply);
  }
  return node;
}
