import { describe, expect, it } from 'vitest';
import { parseRouteTemplate, RouteTable, type HttpRegistration } from '../../local/host/index.js';

function registration(name: string, route: string, methods: string[] = ['GET']): HttpRegistration {
  return { name, route, methods, authLevel: 'anonymous', handler: () => ({}), metadata: { name, bindings: {} } };
}

describe('route templates', () => {
  it('matches literals case-insensitively and ignores a trailing slash', () => {
    const t = parseRouteTemplate('conversations/{id}/messages');
    expect(t.match('Conversations/c_1/MESSAGES/')).toEqual({ id: 'c_1' });
    expect(t.match('conversations/c_1')).toBeNull();
    expect(t.match('conversations//messages')).toBeNull();
  });

  it('decodes parameter values and keeps an encoded slash inside one segment', () => {
    expect(parseRouteTemplate('items/{id}').match('items/a%2Fb%20c')).toEqual({ id: 'a/b c' });
    expect(parseRouteTemplate('items/{id}').match('items/a/b')).toBeNull();
  });

  it('handles optional parameters, defaults and catch-alls', () => {
    const optional = parseRouteTemplate('things/{name?}');
    expect(optional.match('things')).toEqual({});
    expect(optional.match('things/x')).toEqual({ name: 'x' });
    expect(parseRouteTemplate('page/{n=1}').match('page')).toEqual({ n: '1' });
    const catchAll = parseRouteTemplate('files/{**path}');
    expect(catchAll.match('files')).toEqual({});
    expect(catchAll.match('files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
  });

  it('applies constraints', () => {
    expect(parseRouteTemplate('{id:int}').match('-12')).toEqual({ id: '-12' });
    expect(parseRouteTemplate('{id:int}').match('2147483648')).toBeNull();
    expect(parseRouteTemplate('{id:long}').match('2147483648')).toEqual({ id: '2147483648' });
    expect(parseRouteTemplate('{id:alpha}').match('abC')).toEqual({ id: 'abC' });
    expect(parseRouteTemplate('{id:alpha}').match('ab1')).toBeNull();
    const guid = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect(parseRouteTemplate('{id:guid}').match(guid)).toEqual({ id: guid });
    expect(parseRouteTemplate('{id:guid}').match('3f2504e0')).toBeNull();
    expect(parseRouteTemplate('{id:int:range(1,10)}').match('10')).toEqual({ id: '10' });
    expect(parseRouteTemplate('{id:int:range(1,10)}').match('11')).toBeNull();
    expect(parseRouteTemplate('{code:regex(^[a-z]{{2}}\\d$)}').match('AB7')).toEqual({ code: 'AB7' });
    expect(parseRouteTemplate('{code:regex(^[a-z]{{2}}\\d$)}').match('ABC7')).toBeNull();
    expect(parseRouteTemplate('{s:minlength(2):maxlength(3)}').match('abcd')).toBeNull();
  });

  it('refuses templates it cannot honour', () => {
    expect(() => parseRouteTemplate('{id:weird}')).toThrow(/unsupported route constraint/);
    expect(() => parseRouteTemplate('{*rest}/x')).toThrow(/catch-all/);
    expect(() => parseRouteTemplate('{a}/{A}')).toThrow(/twice/);
    expect(() => parseRouteTemplate('x/{id')).toThrow(/unclosed/);
  });
});

describe('route table', () => {
  const table = new RouteTable(
    [
      registration('catchAll', 'items/{*rest}'),
      registration('byId', 'items/{id}', ['GET', 'PATCH']),
      registration('byNumber', 'items/{id:int}', ['DELETE']),
      registration('create', 'items/new', ['POST']),
    ],
    '/api/',
  );

  it('prefers literals, then constrained parameters, then parameters, then catch-alls', () => {
    expect(table.resolve('POST', '/api/items/new')).toMatchObject({ registration: { name: 'create' } });
    expect(table.resolve('DELETE', '/api/items/5')).toMatchObject({ registration: { name: 'byNumber' } });
    expect(table.resolve('get', '/api/items/5')).toMatchObject({ registration: { name: 'byId' }, params: { id: '5' } });
    expect(table.resolve('GET', '/api/items/a/b')).toMatchObject({ registration: { name: 'catchAll' }, params: { rest: 'a/b' } });
  });

  it('reports the methods of every matching route when none serves the method', () => {
    const resolution = table.resolve('PUT', '/api/items/5');
    expect(resolution.kind).toBe('method_not_allowed');
    expect(resolution.kind === 'method_not_allowed' && [...resolution.allow].sort()).toEqual(['DELETE', 'GET', 'PATCH']);
  });

  it('needs the prefix, matched case-insensitively, and allows none', () => {
    expect(table.resolve('GET', '/API/items/x').kind).toBe('match');
    expect(table.resolve('GET', '/items/x').kind).toBe('not_found');
    expect(table.resolve('GET', '/apiitems/x').kind).toBe('not_found');
    const bare = new RouteTable([registration('health', 'health')], '');
    expect(bare.resolve('GET', '/health').kind).toBe('match');
  });
});
