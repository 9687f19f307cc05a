/**
 * A reader for the few ARM template expressions the infra tests need to look inside (`[union(createObject(…))]`):
 * it parses an expression into a tree and lists the keys of the object it builds, without evaluating anything.
 */
export type ArmNode =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly ArmNode[] }
  | { readonly kind: 'member'; readonly target: ArmNode; readonly name: string }
  | { readonly kind: 'index'; readonly target: ArmNode; readonly index: ArmNode };

/** Parses `[expr]` (an ARM expression string, brackets included) into a tree; throws on anything else. */
export function parseArmExpression(text: string): ArmNode {
  if (!text.startsWith('[') || !text.endsWith(']') || text.startsWith('[[')) {
    throw new Error(`not an ARM expression: ${text.slice(0, 60)}`);
  }
  const src = text.slice(1, -1);
  let pos = 0;

  const skip = (): void => {
    while (pos < src.length && /\s/.test(src[pos] ?? '')) pos += 1;
  };
  const expect = (ch: string): void => {
    skip();
    if (src[pos] !== ch) throw new Error(`expected '${ch}' at ${pos} in ${src.slice(Math.max(0, pos - 30), pos + 30)}`);
    pos += 1;
  };

  const primary = (): ArmNode => {
    skip();
    const ch = src[pos];
    if (ch === "'") {
      let value = '';
      pos += 1;
      for (;;) {
        if (pos >= src.length) throw new Error('unterminated string');
        if (src[pos] === "'") {
          if (src[pos + 1] === "'") {
            value += "'";
            pos += 2;
            continue;
          }
          pos += 1;
          return { kind: 'string', value };
        }
        value += src[pos];
        pos += 1;
      }
    }
    const number = /^-?\d+/.exec(src.slice(pos));
    if (number) {
      pos += number[0].length;
      return { kind: 'number', value: Number(number[0]) };
    }
    const ident = /^[A-Za-z_][\w.]*/.exec(src.slice(pos));
    if (!ident) throw new Error(`unexpected '${ch ?? 'end'}' at ${pos}`);
    pos += ident[0].length;
    expect('(');
    const args: ArmNode[] = [];
    skip();
    if (src[pos] === ')') pos += 1;
    else {
      for (;;) {
        args.push(expression());
        skip();
        if (src[pos] === ',') pos += 1;
        else {
          expect(')');
          break;
        }
      }
    }
    return { kind: 'call', name: ident[0].toLowerCase(), args };
  };

  const expression = (): ArmNode => {
    let node = primary();
    for (;;) {
      skip();
      if (src[pos] === '.') {
        pos += 1;
        const name = /^\w+/.exec(src.slice(pos));
        if (!name) throw new Error(`property name expected at ${pos}`);
        pos += name[0].length;
        node = { kind: 'member', target: node, name: name[0] };
      } else if (src[pos] === '[') {
        pos += 1;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };

  const tree = expression();
  skip();
  if (pos !== src.length) throw new Error(`trailing text at ${pos}: ${src.slice(pos, pos + 40)}`);
  return tree;
}

/**
 * The keys of the object an expression builds from `union(…)`, `createObject(…)` and `parameters('x')` (whose keys
 * come from `parameterKeys`). Anything else (a reference, a conditional object) cannot be read and throws, so a
 * template change that hides settings behind such an expression fails the test instead of passing it blindly.
 */
export function objectKeys(node: ArmNode, parameterKeys: (name: string) => readonly string[] = () => []): string[] {
  if (node.kind === 'call' && node.name === 'union') return node.args.flatMap((arg) => objectKeys(arg, parameterKeys));
  if (node.kind === 'call' && node.name === 'createobject') {
    const keys: string[] = [];
    for (let i = 0; i < node.args.length; i += 2) {
      const key = node.args[i];
      if (key?.kind !== 'string') throw new Error('createObject with a computed key');
      keys.push(key.value);
    }
    return keys;
  }
  if (node.kind === 'call' && node.name === 'parameters' && node.args[0]?.kind === 'string') {
    return [...parameterKeys(node.args[0].value)];
  }
  throw new Error(`cannot list the keys of a ${node.kind === 'call' ? `${node.name}(…)` : node.kind} expression`);
}
