// k8s/ checked offline: every document against the Kubernetes OpenAPI schemas (kubernetes-models), the
// kustomizations rendered by kubectl, then what the issue asks of the Deployment.
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { readIni, readRepoFile, repoFile, run, section, which, yamlDocuments } from './support/files.js';

const BASE = ['configmap.yaml', 'secret.example.yaml', 'postgres.yaml', 'supervisord-metrics.yaml', 'storage.yaml', 'deployment.yaml'].map((f) => `k8s/base/${f}`);

type Model = Deployment | StatefulSet | Service | ConfigMap | Secret | PersistentVolumeClaim;

/** The typed model of a document, validated against its schema (throws with the schema errors). */
function model(document: unknown): Model {
  const { apiVersion, kind } = document as { apiVersion?: string; kind?: string };
  const constructors = {
    'apps/v1/Deployment': Deployment,
    'apps/v1/StatefulSet': StatefulSet,
    'v1/Service': Service,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  } as const;
  const key = `${apiVersion}/${kind}`;
  if (!(key in constructors)) throw new Error(`unexpected kind ${key}`);
  const Constructor = constructors[key as keyof typeof constructors] as new (data: unknown) => Model;
  const instance = new Constructor(document);
  instance.validate();
  return instance;
}

const documents = BASE.flatMap((file) => yamlDocuments(file).map((doc) => ({ file, doc })));
const models = documents.map(({ doc }) => model(doc));
const deployment = models.find((m): m is Deployment => m instanceof Deployment)!;
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0]!;

describe('k8s manifests', () => {
  it('are valid Kubernetes objects (schemas of kubernetes-models)', () => {
    expect(models.map((m) => `${m.kind}/${m.metadata?.name}`).sort()).toEqual([
      'ConfigMap/storyboard-api-config',
      'ConfigMap/storyboard-api-supervisord',
      'Deployment/storyboard-api',
      'PersistentVolumeClaim/storyboard-api-data',
      'Secret/storyboard-api-secrets',
      'Service/postgres',
      'Service/storyboard-api',
      'StatefulSet/postgres',
    ]);
    // The validator can fail: a replica count as text is refused.
    const broken = structuredClone(documents.find(({ doc }) => (doc as { kind: string }).kind === 'Deployment')!.doc) as {
      spec: { replicas: unknown };
    };
    broken.spec.replicas = 'one';
    expect(() => model(broken)).toThrow(/replicas must be integer/);
  });

  it('render with kubectl kustomize, base and local overlay, to the same valid objects', () => {
    const kubectl = which('kubectl');
    if (!kubectl) throw new Error('kubectl is not installed: it is on the node machine image (google-cloud-cli kubectl)');
    for (const dir of ['k8s/base', 'k8s/local']) {
      const rendered = run(kubectl, ['kustomize', repoFile(dir)]);
      expect(rendered.stderr).toBe('');
      expect(rendered.status).toBe(0);
      const objects = parseAllDocuments(rendered.stdout).map((d) => model(d.toJS()));
      // Eight manifests (supervisord's metrics ConfigMap and the data PersistentVolumeClaim among them) and
      // the generated ConfigMap of Prometheus alert rules (test/deploy/alerts.test.ts).
      expect(objects).toHaveLength(9);
      if (dir === 'k8s/local') {
        const local = objects.find((m): m is Deployment => m instanceof Deployment)!;
        const volume = local.spec!.template.spec!.volumes!.find((v) => v.name === 'logs')!;
        expect(volume.hostPath?.path).toBe('/tmp/storyboard-logs');
        expect(volume.emptyDir).toBeUndefined();
        expect(local.spec!.template.spec!.containers[0]!.imagePullPolicy).toBe('Never');
      }
    }
  });

  it('run one container with readiness on /readyz and a liveness that ignores the database', () => {
    expect(pod.containers).toHaveLength(1);
    expect(container.name).toBe('storyboard-api');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    // /healthz is the api's process check; /readyz includes PostgreSQL. A down database must not restart pods.
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(container.livenessProbe!.failureThreshold!).toBeGreaterThan(container.readinessProbe!.failureThreshold!);
    expect(container.resources?.requests?.memory).toBeDefined();
    expect(container.resources?.limits?.memory).toBeDefined();
    expect(container.volumeMounts?.find((m) => m.name === 'logs')?.mountPath).toBe('/app/logs');
  });

  it('give the pod longer to stop than supervisord needs for both programs', () => {
    const conf = readIni(readRepoFile('supervisor/supervisord.conf'));
    const wait = ['api', 'task-processor'].reduce((sum, p) => sum + Number(section(conf, `program:${p}`).get('stopwaitsecs')), 0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(wait);
  });

  it('take the processor settings from the ConfigMap and secrets from the Secret', () => {
    const configMap = models.find((m): m is ConfigMap => m instanceof ConfigMap && m.metadata?.name === 'storyboard-api-config')!;
    expect(Object.keys(configMap.data ?? {})).toEqual(expect.arrayContaining(['POLL_INTERVAL', 'TASK_TIMEOUT', 'RUNNINGHUB_BASE_URL']));
    expect(container.envFrom?.[0]?.configMapRef?.name).toBe(configMap.metadata?.name);
    const secret = models.find((m): m is Secret => m instanceof Secret)!;
    for (const variable of ['DATABASE_URL', 'RUNNINGHUB_API_KEY']) {
      const ref = container.env?.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;
      expect(ref?.name).toBe(secret.metadata?.name);
      expect(Object.keys(secret.stringData ?? {})).toContain(ref?.key);
    }
    // The example's DATABASE_URL points at the local PostgreSQL Service.
    const postgres = models.find((m): m is Service => m instanceof Service && m.metadata?.name === 'postgres')!;
    expect(secret.stringData?.DATABASE_URL).toContain(`@${postgres.metadata?.name}:${postgres.spec?.ports?.[0]?.port}/`);
  });

  it('keep outputs and reference images on a PersistentVolumeClaim mounted where OUTPUT_DIR and UPLOAD_DIR point', () => {
    const claim = models.find((m): m is PersistentVolumeClaim => m instanceof PersistentVolumeClaim)!;
    const volume = pod.volumes?.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata?.name);
    const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount?.mountPath).toBe('/app/data');
    const configMap = models.find((m): m is ConfigMap => m instanceof ConfigMap && m.metadata?.name === 'storyboard-api-config')!;
    expect(configMap.data?.OUTPUT_DIR).toBe('/app/data/outputs');
    expect(configMap.data?.UPLOAD_DIR).toBe('/app/data/uploads');
  });

  it('select the pods by the labels they carry', () => {
    const service = models.find((m): m is Service => m instanceof Service && m.metadata?.name === 'storyboard-api')!;
    expect(deployment.spec!.template.metadata?.labels).toMatchObject(service.spec!.selector!);
    expect(deployment.spec!.selector.matchLabels).toEqual(deployment.spec!.template.metadata?.labels);
    expect(service.spec?.ports?.[0]?.port).toBe(8000);
  });

  it("expose supervisord's /metrics on a pod port to a scraper, with the Secret's credentials", () => {
    const port = container.ports?.find((p) => p.name === 'metrics');
    expect(port?.containerPort).toBe(9001);
    const annotations = deployment.spec!.template.metadata?.annotations ?? {};
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9001', 'prometheus.io/path': '/metrics' });
    const service = models.find((m): m is Service => m instanceof Service && m.metadata?.name === 'storyboard-api')!;
    expect(service.spec?.ports?.find((p) => p.name === 'metrics')).toMatchObject({ port: 9001, targetPort: 'metrics' });
    // The extra supervisord sections are mounted where the image's supervisord.conf includes them.
    const extra = models.find((m): m is ConfigMap => m instanceof ConfigMap && m.metadata?.name === 'storyboard-api-supervisord')!;
    const volume = pod.volumes?.find((v) => v.configMap?.name === extra.metadata?.name);
    const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
    const include = section(readIni(readRepoFile('supervisor/supervisord.conf')), 'include').get('files');
    expect(include).toBe(`${mount?.mountPath}/*.conf`);
    const metricsConf = readIni(extra.data?.['metrics.conf'] ?? '');
    const inet = section(metricsConf, 'inet_http_server');
    expect(inet.get('port')).toBe('*:9001');
    // Credentials come from the Secret, through the environment supervisord expands.
    const secret = models.find((m): m is Secret => m instanceof Secret)!;
    for (const [key, variable] of [
      ['username', 'SUPERVISOR_METRICS_USERNAME'],
      ['password', 'SUPERVISOR_METRICS_PASSWORD'],
    ] as const) {
      expect(inet.get(key)).toBe(`%(ENV_${variable})s`);
      const ref = container.env?.find((e) => e.name === variable)?.valueFrom?.secretKeyRef;
      expect(ref?.name).toBe(secret.metadata?.name);
      expect(Object.keys(secret.stringData ?? {})).toContain(ref?.key);
    }
    // The Prometheus Operator variant scrapes the same Service port with the same Secret keys.
    const monitor = yamlDocuments('k8s/monitoring/servicemonitor.yaml')[0] as {
      kind: string;
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; basicAuth: Record<string, { name: string; key: string }> }[] };
    };
    expect(monitor.kind).toBe('ServiceMonitor');
    expect(service.metadata?.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    expect(monitor.spec.endpoints[0]?.basicAuth.password).toEqual({ name: secret.metadata?.name, key: 'SUPERVISOR_METRICS_PASSWORD' });
  });

  it("has its supervisord config where the original guide says (docker/supervisor/supervisord.conf), with the guide's [program:task-processor] values", () => {
    expect(readlinkSync(repoFile('docker/supervisor'))).toBe('../supervisor');
    const conf = readRepoFile('docker/supervisor/supervisord.conf');
    const section = /\[program:task-processor\]\n([^[]*)/.exec(conf)?.[1] ?? '';
    for (const line of ['autostart=true', 'autorestart=true', 'startretries=10', 'startsecs=5', 'stopwaitsecs=30', 'stopsignal=TERM']) {
      expect(section.split('\n'), line).toContain(line);
    }
  });

  it('can be deployed from docker/k8s, as the original guide says', () => {
    expect(lstatSync(repoFile('docker/k8s')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(repoFile('docker/k8s'))).toBe('../k8s');
    expect(existsSync(repoFile('docker/k8s/local-deploy.sh'))).toBe(true);
  });
});
