import { TestApp } from './test-app';

export interface RegisteredRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The Express path, parameters as `:name`. */
  path: string;
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/**
 * Every route the application serves, read from its Express router (the OpenAPI UI under
 * /docs and Nest's catch-all for unknown paths excluded), so a test covers routes added later
 * without being told about them.
 */
export function registeredRoutes(t: TestApp): RegisteredRoute[] {
  const express = t.app.getHttpAdapter().getInstance() as { router: { stack: RouterLayer[] } };
  const routes: RegisteredRoute[] = [];
  for (const layer of express.router.stack) {
    const path = layer.route?.path;
    if (!layer.route || !path || path.startsWith('/docs') || path.includes('*')) {
      continue;
    }
    for (const method of Object.keys(layer.route.methods).filter((m) => METHODS.has(m))) {
      routes.push({ method: method as RegisteredRoute['method'], path });
    }
  }

  return routes;
}

/** A path to call for a route: every parameter filled with `value`. */
export function concretePath(route: RegisteredRoute, value = '1'): string {
  return route.path.replace(/:[A-Za-z0-9_]+/g, value);
}

export function routeName(route: RegisteredRoute): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}
