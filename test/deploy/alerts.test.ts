// The Prometheus alert rules (monitoring/prometheus/alerts.yml → k8s/base/prometheus-alerts.yml):
// valid for promtool, each one fired by promtool's unit tests, built on metrics we export, and carried
// by the Kubernetes manifests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1';
import { readRepoFile, repoFile, requireCommand, run } from './support/files.js';

const RULES = 'monitoring/prometheus/alerts.yml';
const RULE_TESTS = 'monitoring/prometheus/alerts.test.yml';

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rules = (parse(readRepoFile(RULES)) as RuleFile).groups.flatMap((group) => group.rules);

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const promtool = requireCommand('promtool', 'prometheus');
    const result = run(promtool, ['check', 'rules', repoFile(RULES)]);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  it("cover the guide's thresholds and a saturated account with a growing backlog", () => {
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    expect(byName.get('TaskProcessorDown')?.for).toBe('5m');
    expect(byName.get('TaskBacklogHigh')?.expr).toMatch(/status="PENDING".*> 100$/);
    expect(byName.get('TaskProcessorConsecutiveErrors')?.expr).toMatch(/consecutive_errors\) > 5$/);
    expect(byName.get('ProgramRestartingOften')?.expr).toMatch(/supervisor_process_starts_total\[1h\][^]*> 3\n?$/);
    expect(byName.get('RunningHubSlotsSaturatedBacklogGrowing')?.expr).toMatch(/slots_in_use.*slots_limit.*deriv/s);
  });

  it('fire in promtool test rules, each of them at least once', () => {
    const promtool = requireCommand('promtool', 'prometheus');
    const result = run(promtool, ['test', 'rules', repoFile(RULE_TESTS)]);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
    const tests = parse(readRepoFile(RULE_TESTS)) as RuleTests;
    const fired = new Set(
      tests.tests.flatMap((test) => test.alert_rule_test.filter((check) => check.exp_alerts.length > 0).map((check) => check.alertname)),
    );
    expect([...fired].sort()).toEqual(rules.map((rule) => rule.alert).sort());
  });

  it('fail promtool test rules when a threshold is changed (the tests can fail)', () => {
    const promtool = requireCommand('promtool', 'prometheus');
    const tmp = mkdtempSync(path.join(tmpdir(), 'alerts-'));
    writeFileSync(path.join(tmp, 'alerts.yml'), readRepoFile(RULES).replace('> 100', '> 101'));
    writeFileSync(path.join(tmp, 'alerts.test.yml'), readRepoFile(RULE_TESTS));
    const result = run(promtool, ['test', 'rules', path.join(tmp, 'alerts.test.yml')]);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('alertname: TaskBacklogHigh');
  });

  it('use only metrics that our programs export', () => {
    const exported = readRepoFile('src/api/metrics.ts');
    const used = new Set(rules.flatMap((rule) => [...rule.expr.matchAll(/\b(storyboard_[a-z_]+)/g)].map((m) => m[1]!)));
    expect(used.size).toBeGreaterThan(4);
    for (const metric of used) expect(exported, metric).toContain(`'${metric}'`);
  });

  it('are carried by the Kubernetes manifests as a ConfigMap', () => {
    const kubectl = requireCommand('kubectl', 'kubectl');
    const rendered = run(kubectl, ['kustomize', repoFile('k8s/base')]);
    expect(rendered.status).toBe(0);
    const configMaps = parseAllDocuments(rendered.stdout)
      .map((doc) => doc.toJS() as { kind: string; metadata: { name: string } })
      .filter((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === 'storyboard-api-prometheus-rules')
      .map((doc) => new ConfigMap(doc as ConstructorParameters<typeof ConfigMap>[0]));
    expect(configMaps).toHaveLength(1);
    configMaps[0]!.validate();
    expect(configMaps[0]!.data?.['alerts.yml']).toBe(readRepoFile(RULES));
  });
});
