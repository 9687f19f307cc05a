import { parseArmExpression, type ArmNode } from './armExpression.js';

/**
 * Evaluates the parameter-driven part of ARM template values the way Resource Manager would, for a given set of
 * parameter values: enough to ask "with these inputs, what does the template deploy, and does it refuse?" without
 * Azure. `if` is lazy, as in ARM, so a `fail(…)` in the branch not taken does not fire. A `reference(…)` to a module
 * stands for that module's output and evaluates to a placeholder such as `<phi.openAiEndpoint>`. Any function this
 * reader does not know throws, so a template change cannot be checked by a silently wrong evaluation.
 */
export class ArmFailure extends Error {}

export interface ArmScope {
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly variables?: Readonly<Record<string, unknown>>;
  readonly lambdaVariables?: Readonly<Record<string, unknown>>;
}

interface Reference {
  readonly reference: string;
}

function isReference(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && 'reference' in value;
}

/** Evaluates a template value: a literal, `[expression]`, or an object/array of them. */
export function evaluateArm(value: unknown, scope: ArmScope): unknown {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return finish(evaluateNode(parseArmExpression(value), scope));
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => evaluateArm(item, scope));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluateArm(item, scope)]));
  }
  return value;
}

function finish(value: unknown): unknown {
  return isReference(value) ? `<${value.reference}>` : value;
}

function lastStringIn(node: ArmNode | undefined): string | undefined {
  if (node?.kind !== 'call') return undefined;
  const strings = node.args.filter((arg): arg is { kind: 'string'; value: string } => arg.kind === 'string');
  return strings.at(-1)?.value;
}

function evaluateNode(node: ArmNode, scope: ArmScope): unknown {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.value;
    case 'member': {
      const target = evaluateNode(node.target, scope);
      if (isReference(target)) {
        // reference(<module>).outputs.<name>.value reads as <module>.<name>.
        if (node.name === 'outputs' || node.name === 'value') return target;
        return { reference: `${target.reference}.${node.name}` };
      }
      if (typeof target === 'object' && target !== null && node.name in target) {
        return (target as Record<string, unknown>)[node.name];
      }
      throw new Error(`no property ${node.name}`);
    }
    case 'index':
      throw new Error('indexing is not evaluated');
    case 'call':
      return call(node.name, node.args, scope);
  }
}

function call(name: string, args: readonly ArmNode[], scope: ArmScope): unknown {
  const arg = (i: number): unknown => {
    const node = args[i];
    if (!node) throw new Error(`${name}: missing argument ${i}`);
    return finish(evaluateNode(node, scope));
  };
  switch (name) {
    case 'parameters': {
      const key = String(arg(0));
      if (!(key in scope.parameters)) throw new Error(`no value for parameter ${key}`);
      return scope.parameters[key];
    }
    case 'variables': {
      const key = String(arg(0));
      if (!scope.variables || !(key in scope.variables)) throw new Error(`no variable ${key}`);
      return evaluateArm(scope.variables[key], scope);
    }
    case 'if':
      return arg(0) === true ? arg(1) : arg(2);
    case 'and':
      return args.every((_, i) => arg(i) === true);
    case 'or':
      return args.some((_, i) => arg(i) === true);
    case 'not':
      return arg(0) !== true;
    case 'equals':
      return JSON.stringify(arg(0)) === JSON.stringify(arg(1));
    case 'empty': {
      const value = arg(0);
      if (value === null || value === undefined || value === '') return true;
      if (Array.isArray(value)) return value.length === 0;
      return typeof value === 'object' && Object.keys(value).length === 0;
    }
    case 'endswith':
      return String(arg(0)).toLowerCase().endsWith(String(arg(1)).toLowerCase());
    case 'string':
      return typeof arg(0) === 'string' ? arg(0) : JSON.stringify(arg(0));
    case 'format':
      return String(arg(0)).replace(/\{(\d+)\}/g, (_, i: string) => String(arg(Number(i) + 1)));
    case 'createobject': {
      const entries: [string, unknown][] = [];
      for (let i = 0; i < args.length; i += 2) entries.push([String(arg(i)), arg(i + 1)]);
      return Object.fromEntries(entries);
    }
    case 'createarray':
      return args.map((_, i) => arg(i));
    case 'union': {
      const values = args.map((_, i) => arg(i));
      if (values.every(Array.isArray)) return [...new Set(values.flat())];
      return Object.assign({}, ...values) as unknown;
    }
    case 'fail':
      throw new ArmFailure(String(arg(0)));
    case 'split':
      return String(arg(0)).split(String(arg(1)));
    case 'trim':
      return String(arg(0)).trim();
    case 'lambda': {
      const body = args.at(-1);
      const names = args.slice(0, -1).map((_, i) => String(arg(i)));
      if (!body) throw new Error('lambda without a body');
      return (...values: unknown[]): unknown =>
        finish(evaluateNode(body, { ...scope, lambdaVariables: { ...scope.lambdaVariables, ...Object.fromEntries(names.map((n, i) => [n, values[i]])) } }));
    }
    case 'lambdavariables': {
      const key = String(arg(0));
      if (!scope.lambdaVariables || !(key in scope.lambdaVariables)) throw new Error(`no lambda variable ${key}`);
      return scope.lambdaVariables[key];
    }
    case 'map':
    case 'filter': {
      const items = arg(0);
      const fn = arg(1);
      if (!Array.isArray(items) || typeof fn !== 'function') throw new Error(`${name} needs an array and a lambda`);
      const apply = fn as (item: unknown) => unknown;
      return name === 'map' ? items.map((item) => apply(item)) : items.filter((item) => apply(item) === true);
    }
    case 'environment':
      // The public cloud; a test that depends on another cloud's endpoints would pass its own.
      return { authentication: { loginEndpoint: 'https://login.microsoftonline.com/' } };
    case 'tenant':
      return { tenantId: '<tenant>' };
    case 'resourceid':
    case 'subscriptionresourceid':
      // The resource's type and names, which is what a test can compare; the subscription and group are not known.
      return args.map((_, i) => String(arg(i))).join('/');
    case 'reference':
      return { reference: lastStringIn(args[0]) ?? 'resource' } satisfies Reference;
    default:
      throw new Error(`${name}(…) is not evaluated by this reader`);
  }
}
