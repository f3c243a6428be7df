import { TestApp } from './test-app';

export interface RegisteredRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The path as registered, with `:param` placeholders. */
  path: string;
}

interface RouterLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

const METHODS = new Set<RegisteredRoute['method']>(['get', 'post', 'put', 'patch', 'delete']);

/**
 * Every route the running application registered on its Express router (Nest's controllers
 * and what other modules mount, such as the OpenAPI document), read from the router stack so
 * that a new route is covered without being listed by hand.
 */
export function registeredRoutes(t: TestApp): RegisteredRoute[] {
  const express = t.app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } };
  const routes: RegisteredRoute[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route) {
      continue;
    }
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const [method, enabled] of Object.entries(layer.route.methods)) {
      if (enabled && METHODS.has(method as RegisteredRoute['method'])) {
        for (const path of paths) {
          routes.push({ method: method as RegisteredRoute['method'], path });
        }
      }
    }
  }

  return routes;
}

/** A concrete URL for a registered path: every `:param` becomes `1`. */
export function concretePath(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+/g, '1');
}
