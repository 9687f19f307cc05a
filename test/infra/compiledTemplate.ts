import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateArm } from './evaluateArm.js';

/**
 * infra/main.bicep compiled to ARM JSON by the real Bicep CLI (scripts/check-infra.sh, which also lints and fails on
 * any warning), and the few ways the infra tests look into it.
 */
export const ROOT = join(import.meta.dirname, '..', '..');

export interface ArmResource {
  type: string;
  name: string;
  condition?: unknown;
  scope?: unknown;
  tags?: unknown;
  sku?: unknown;
  kind?: unknown;
  properties?: Record<string, unknown> & {
    template?: ArmTemplate;
    parameters?: Record<string, { value: unknown }>;
  };
}

export interface ArmTemplate {
  parameters: Record<string, { type: string; defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs: Record<string, { value: unknown }>;
}

export type ArmModule = ArmResource & { properties: NonNullable<ArmResource['properties']> & { template: ArmTemplate } };

/** Compiles and lints the template; throws (failing the suite) when the CLI reports anything. */
export function compileTemplate(): ArmTemplate {
  const workDir = mkdtempSync(join(tmpdir(), 'infra-'));
  try {
    const armFile = join(workDir, 'main.json');
    try {
      execFileSync('bash', [join(ROOT, 'scripts', 'check-infra.sh'), '--arm', armFile], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`scripts/check-infra.sh failed: the template was not compiled, nothing was checked.\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
        cause: error,
      });
    }
    return JSON.parse(readFileSync(armFile, 'utf8')) as ArmTemplate;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function moduleNamed(arm: ArmTemplate, name: string): ArmModule {
  const found = arm.resources.find((r) => r.type === 'Microsoft.Resources/deployments' && r.name === name);
  if (!found?.properties?.template) throw new Error(`no module deployment named ${name}`);
  return found as ArmModule;
}

export function resourcesOfType(template: ArmTemplate, type: string): ArmResource[] {
  return template.resources.filter((r) => r.type === type);
}

export function resourceOfType(template: ArmTemplate, type: string): ArmResource {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as ArmResource;
}

/** The default value of every parameter, overridden by `values`; environmentName and location get sample values. */
export function parameterValues(template: ArmTemplate, values: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const defaults = Object.fromEntries(
    Object.entries(template.parameters)
      .filter(([, p]) => p.defaultValue !== undefined)
      .map(([name, p]) => [name, p.defaultValue]),
  );
  return { environmentName: 'env', location: 'eastus2', ...defaults, ...values };
}

/** Evaluates a value of main.bicep (a variable, a module parameter, a property) for the given parameter values. */
export function evaluateMain(arm: ArmTemplate, value: unknown, values: Readonly<Record<string, unknown>> = {}): unknown {
  return evaluateArm(value, { parameters: parameterValues(arm, values), variables: arm.variables ?? {} });
}

/**
 * Evaluates a value inside a module for the given parameter values of main.bicep: the module's own parameters are
 * first evaluated from what main.bicep passes it (or their defaults).
 */
export function evaluateInModule(
  arm: ArmTemplate,
  module: ArmModule,
  value: unknown,
  values: Readonly<Record<string, unknown>> = {},
): unknown {
  const inner = module.properties.template;
  const passed = module.properties.parameters ?? {};
  // Lazily, like ARM: a parameter this value does not use (a name built with uniqueString, say) is never evaluated.
  const parameters: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(inner.parameters)) {
    if (name in passed) {
      Object.defineProperty(parameters, name, { enumerable: true, get: () => evaluateMain(arm, passed[name]?.value, values) });
    } else if (p.defaultValue !== undefined) {
      Object.defineProperty(parameters, name, { enumerable: true, get: () => evaluateArm(p.defaultValue, { parameters, variables: inner.variables ?? {} }) });
    }
  }
  return evaluateArm(value, { parameters, variables: inner.variables ?? {} });
}
