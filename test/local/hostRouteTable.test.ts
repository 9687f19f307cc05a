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

  it('handles catch-alls, empty or not', () => {
    const catchAll = parseRouteTemplate('files/{*path}');
    expect(catchAll.match('files')).toEqual({});
    expect(catchAll.match('files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
  });

  it('refuses templates it cannot honour', () => {
    // Only what the app writes: a constraint, an optional parameter, a default or a complex segment fails at registration.
    for (const template of ['{id:weird}', '{id:int}', 'things/{name?}', 'page/{n=1}', 'files/{**path}', '{a}.{b}', 'x{{y}}']) {
      expect(() => parseRouteTemplate(template), template).toThrow(/unsupported segment .*only literals, \{name\} and a final \{\*rest\}/);
    }
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
      registration('byNumber', 'items/{number}', ['DELETE']),
      registration('create', 'items/new', ['POST']),
    ],
    '/api/',
  );

  it('prefers literals, then parameters, then catch-alls; among equals, the first that serves the method', () => {
    expect(table.resolve('POST', '/api/items/new')).toMatchObject({ registration: { name: 'create' } });
    expect(table.resolve('DELETE', '/api/items/5')).toMatchObject({ registration: { name: 'byNumber' }, params: { number: '5' } });
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
