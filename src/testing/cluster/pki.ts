/**
 * Certificates of the test control plane, made with openssl (installed from Debian when missing):
 * one CA; serving certificates for kube-apiserver and etcd (127.0.0.1, localhost and the in-cluster
 * names); a client certificate for the apiserver at etcd; the admin client certificate (group
 * system:masters) that the kubeconfig, the controllers and kwok use; and the service-account signing
 * key pair. EC P-256 keys throughout (fast to make, supported by every component). Made once per state
 * directory and kept; delete `<dir>/pki` to make new ones.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommand } from '../system.js';
import { words } from './util.js';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  etcdCert: string;
  etcdKey: string;
  etcdClientCert: string;
  etcdClientKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** The in-cluster names and the first address of the service range (10.96.0.0/16) for the apiserver. */
const APISERVER_SANS = [
  'IP:127.0.0.1',
  'IP:10.96.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

export function pkiPaths(dir: string): Pki {
  const f = (name: string) => join(dir, name);
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    etcdCert: f('etcd.crt'),
    etcdKey: f('etcd.key'),
    etcdClientCert: f('apiserver-etcd-client.crt'),
    etcdClientKey: f('apiserver-etcd-client.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

/** The PKI in `dir`, made first if any file is missing. */
export function ensurePki(dir: string): Pki {
  const p = pkiPaths(dir);
  const files = Object.entries(p).filter(([k]) => k !== 'dir');
  if (files.every(([, f]) => existsSync(f))) return p;
  const openssl = ensureCommand('openssl', 'openssl');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const run = (args: string[]) => {
    try {
      execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(
        `openssl ${args[0]} failed while making certificates in ${dir}: ${stderr || (e as Error).message}`,
      );
    }
  };
  const key = (file: string) =>
    run(words`genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${file}`);

  key(p.caKey);
  run(words`req -x509 -new -key ${p.caKey} -subj /CN=vireo-test-ca -days 3650 -out ${p.caCert}
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign`);
  const leaf = (cert: string, keyFile: string, subject: string, usage: string, sans: string[] = []) => {
    key(keyFile);
    const csr = `${cert}.csr`;
    const ext = `${cert}.ext`;
    run(words`req -new -key ${keyFile} -subj ${subject} -out ${csr}`);
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${usage}`,
        ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    run(words`x509 -req -in ${csr} -CA ${p.caCert} -CAkey ${p.caKey} -CAcreateserial -days 3650 -sha256
      -extfile ${ext} -out ${cert}`);
    rmSync(csr);
    rmSync(ext);
  };
  leaf(p.apiserverCert, p.apiserverKey, '/CN=kube-apiserver', 'serverAuth', APISERVER_SANS);
  leaf(p.etcdCert, p.etcdKey, '/CN=etcd', 'serverAuth,clientAuth', ['IP:127.0.0.1', 'DNS:localhost']);
  leaf(p.etcdClientCert, p.etcdClientKey, '/CN=kube-apiserver-etcd-client', 'clientAuth');
  leaf(p.adminCert, p.adminKey, '/O=system:masters/CN=vireo-admin', 'clientAuth');
  key(p.serviceAccountKey);
  run(words`pkey -in ${p.serviceAccountKey} -pubout -out ${p.serviceAccountPub}`);
  return p;
}
