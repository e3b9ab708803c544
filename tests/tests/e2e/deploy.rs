//! The deployment files under `deploy/`: that they parse, that every file
//! they name exists, that the configurations load with the real loaders and
//! agree with the mounts that provide their certificates, that the shell
//! scripts are valid bash, and (ignored unless asked for, as it needs root
//! and network namespaces) a real federated search across namespaced
//! "hosts" (`deploy/netns/run.sh`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;
use serde_yaml_ng::Value;
use tudashalo_hub::config::HubConfig;
use tudashalo_node::config::NodeConfig;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent: the repository")
        .to_path_buf()
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every document of a (multi-document) YAML file, empty ones left out.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

/// `value.a.b.c` as a string, if every step is there.
fn path_str<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v str> {
    let mut at = value;
    for key in keys {
        at = get(at, key)?;
    }
    at.as_str()
}

fn seq(value: Option<&Value>) -> Vec<Value> {
    value
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    seq(value)
        .iter()
        .map(|v| v.as_str().expect("a list of strings").to_string())
        .collect()
}

/// Loads a `node.toml` text with the node's own loader (it reads DIR/node.toml).
fn load_node_toml(text: &str, what: &str) -> NodeConfig {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("node.toml"), text).expect("writing node.toml");
    NodeConfig::load(dir.path()).unwrap_or_else(|e| panic!("{what} does not load: {e}"))
}

/// Loads a `hub.toml` text with the hub's own loader (it validates but does
/// not read the TLS files).
fn load_hub_toml(text: &str, what: &str) -> HubConfig {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, text).expect("writing hub.toml");
    HubConfig::load(&path).unwrap_or_else(|e| panic!("{what} does not load: {e}"))
}

// --- example configurations ---------------------------------------------------

#[test]
fn example_configs_load_with_the_real_loaders() {
    let node_text = read(&deploy().join("config/node.toml"));
    let node = load_node_toml(&node_text, "deploy/config/node.toml");
    assert_eq!(node.name, "edelenyi");
    assert!(
        node.display_name.is_some(),
        "the example shows display_name"
    );
    node.listen
        .parse::<std::net::SocketAddr>()
        .expect("listen is an address");
    let tls = node.tls.as_ref().expect("the example has a [tls] section");
    for p in [&tls.cert, &tls.key, &tls.ca] {
        assert!(
            p.starts_with("/etc/tudashalo/pki"),
            "{} is not under /etc/tudashalo/pki",
            p.display()
        );
    }
    assert!(node.limits.import.max_body_bytes > 0);
    for key in [
        "name =",
        "display_name =",
        "listen =",
        "[tls]",
        "cert =",
        "key =",
        "ca =",
        "[limits]",
        "max_body_bytes =",
    ] {
        assert!(node_text.contains(key), "node.toml example lacks {key}");
    }
    for key in [
        "[disclosure]",
        "min_contributors =",
        "count_unit =",
        "max_small_count =",
        "dominance_n =",
        "dominance_k =",
    ] {
        assert!(node_text.contains(key), "node.toml example lacks {key}");
    }
    assert!(!node.policy.hubs.is_empty(), "the example lets a hub in");
    assert!(node.policy.operators.is_some());
    assert!(node.policy.national_granularity.is_some());
    assert!(!node.policy.grants.is_empty(), "the example shows a grant");
    assert!(
        node_text.contains("# crl ="),
        "node.toml keeps a commented placeholder for crl"
    );

    let hub_text = read(&deploy().join("config/hub.toml"));
    let hub = HubConfig::load(&deploy().join("config/hub.toml"))
        .unwrap_or_else(|e| panic!("deploy/config/hub.toml does not load: {e}"));
    assert!(hub.display_name.is_some());
    assert!(hub.tls.cert.starts_with("/etc/tudashalo/pki"));
    assert!(hub.tls.key.starts_with("/etc/tudashalo/pki"));
    assert!(hub.tls.ca.starts_with("/etc/tudashalo/pki"));
    assert!(!hub.members.is_empty());
    assert!(
        hub.members.iter().any(|m| m.deadline_ms.is_some()),
        "the example shows a member deadline_ms"
    );
    assert!(
        hub.members.iter().any(|m| !m.enabled),
        "the example shows a disabled member"
    );
    assert!(
        hub.members.iter().all(|m| m.display_name.is_some()),
        "the example shows display_name on members"
    );
    assert!(hub_text.contains("deadline_ms = ") && hub_text.contains("# crl ="));
}

// --- systemd --------------------------------------------------------------------

/// `Key=value` lines of a unit file (comments and sections left out).
fn unit_directives(path: &Path) -> Vec<(String, String)> {
    read(path)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: not Key=value: {l}", path.display()));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

#[test]
fn systemd_units_are_sandboxed() {
    let dir = deploy().join("systemd");
    let required = [
        ("User", "tudashalo"),
        ("Group", "tudashalo"),
        ("DynamicUser", "no"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("CapabilityBoundingSet", ""),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
    ];
    for (unit, exec, stateful) in [
        (
            "tudashalo-node.service",
            "/usr/local/bin/tudashalo-node serve --data /var/lib/tudashalo/node",
            true,
        ),
        (
            "tudashalo-node@.service",
            "/usr/local/bin/tudashalo-node serve --data /var/lib/tudashalo/%i",
            true,
        ),
        (
            "tudashalo-hub.service",
            "/usr/local/bin/tudashalo-hub serve --config /etc/tudashalo/hub.toml",
            false,
        ),
    ] {
        let directives = unit_directives(&dir.join(unit));
        let has = |k: &str, v: &str| directives.iter().any(|(dk, dv)| dk == k && dv == v);
        for (k, v) in required {
            assert!(has(k, v), "{unit}: lacks {k}={v}");
        }
        assert!(has("ExecStart", exec), "{unit}: ExecStart is not {exec}");
        let state = directives.iter().any(|(k, _)| k == "StateDirectory");
        let writes = directives.iter().any(|(k, _)| k == "ReadWritePaths");
        if stateful {
            assert!(
                directives.iter().any(|(k, v)| k == "StateDirectory"
                    && v.split_whitespace().any(|d| d == "tudashalo")),
                "{unit}: StateDirectory=tudashalo"
            );
            assert!(has("ReadWritePaths", "/var/lib/tudashalo"), "{unit}");
        } else {
            assert!(
                !state && !writes,
                "{unit}: the hub writes nothing, so it has no state directory"
            );
            assert!(has("ReadOnlyPaths", "/etc/tudashalo"), "{unit}");
        }
    }
    assert!(dir.join("README.md").is_file());
}

// --- Docker ---------------------------------------------------------------------

/// Host paths that `deploy/docker/setup.sh` creates: they need not exist.
const GENERATED: [&str; 2] = ["pki/", "data/"];

#[test]
fn compose_file_references_exist_and_agree_with_the_configs() {
    let docker = deploy().join("docker");
    let compose_path = docker.join("compose.yaml");
    let docs = yaml_documents(&compose_path);
    assert_eq!(docs.len(), 1, "compose.yaml is one document");
    let compose = &docs[0];
    let setup = read(&docker.join("setup.sh"));

    let services = get(compose, "services")
        .and_then(Value::as_mapping)
        .expect("compose.yaml has services");
    let names: BTreeSet<String> = services
        .keys()
        .map(|k| k.as_str().expect("service name").to_string())
        .collect();
    for wanted in ["hub", "edelenyi", "kisteleki", "szecsenyi"] {
        assert!(
            names.contains(wanted),
            "compose.yaml lacks service {wanted}"
        );
    }
    let networks: BTreeSet<String> = get(compose, "networks")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .map(|k| k.as_str().expect("network").to_string())
                .collect()
        })
        .unwrap_or_default();

    let mut checked_configs = 0;
    let mut hub_names: Vec<String> = Vec::new();
    let mut node_hubs: Vec<(String, Vec<String>)> = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("service name");
        if let Some(build) = get(service, "build") {
            let context = docker.join(path_str(build, &["context"]).expect("build.context"));
            assert!(context.is_dir(), "{name}: build context {context:?}");
            assert!(
                context.join("Cargo.toml").is_file() && context.join("Cargo.lock").is_file(),
                "{name}: the build context is the workspace root"
            );
            let dockerfile = context.join(path_str(build, &["dockerfile"]).unwrap_or("Dockerfile"));
            assert!(dockerfile.is_file(), "{name}: {dockerfile:?} is missing");
        }
        for network in strings(get(service, "networks")) {
            assert!(
                networks.contains(&network),
                "{name}: undeclared network {network}"
            );
        }
        for dependency in strings(get(service, "depends_on")) {
            assert!(
                names.contains(&dependency),
                "{name}: depends on unknown {dependency}"
            );
        }

        // Bind mounts: host source -> container target.
        let mut mounts: BTreeMap<String, String> = BTreeMap::new();
        for volume in strings(get(service, "volumes")) {
            let mut parts = volume.split(':');
            let source = parts.next().expect("volume source");
            let target = parts
                .next()
                .unwrap_or_else(|| panic!("{name}: {volume} has no target"));
            if source.starts_with("./") || source.starts_with("../") {
                let relative = source.trim_start_matches("./");
                if let Some(generated) = GENERATED.iter().find(|g| relative.starts_with(*g)) {
                    // Made by setup.sh: it must make that folder, and a pki
                    // file must be one whose name setup.sh issues.
                    let folder = generated.trim_end_matches('/');
                    assert!(
                        setup.contains(&format!("$here/{folder}")),
                        "{name}: {source} is not made by setup.sh"
                    );
                    let stem = Path::new(relative)
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .expect("file name");
                    assert!(
                        setup.contains(stem),
                        "{name}: setup.sh does not make {source}"
                    );
                } else {
                    let host = docker.join(source);
                    assert!(host.exists(), "{name}: mounted {source} does not exist");
                }
            }
            mounts.insert(target.to_string(), source.to_string());
        }

        let command = strings(get(service, "command"));
        let tls_paths = match command.first().map(String::as_str) {
            Some("tudashalo-node") => {
                let data = command
                    .iter()
                    .skip_while(|a| *a != "--data")
                    .nth(1)
                    .expect("node serve --data DIR");
                let toml = mounts
                    .get(&format!("{data}/node.toml"))
                    .unwrap_or_else(|| panic!("{name}: nothing mounted as {data}/node.toml"));
                let config = load_node_toml(&read(&docker.join(toml)), toml);
                assert_eq!(config.name, name, "{name}: node name = service name");
                node_hubs.push((name.to_string(), config.policy.hubs.clone()));
                let tls = config.tls.expect("node has [tls]");
                vec![tls.cert, tls.key, tls.ca]
            }
            Some("tudashalo-hub") if command.get(1).map(String::as_str) == Some("serve") => {
                let path = command
                    .iter()
                    .skip_while(|a| *a != "--config")
                    .nth(1)
                    .expect("hub serve --config FILE");
                let toml = mounts
                    .get(path)
                    .unwrap_or_else(|| panic!("{name}: nothing mounted as {path}"));
                let config = load_hub_toml(&read(&docker.join(toml)), toml);
                hub_names.push(config.name.clone());
                for member in &config.members {
                    let host = member
                        .endpoint
                        .trim_start_matches("https://")
                        .rsplit_once(':')
                        .expect("host:port")
                        .0;
                    assert!(
                        names.contains(host),
                        "hub member {} points at {host}, not a compose service",
                        member.name
                    );
                }
                vec![config.tls.cert, config.tls.key, config.tls.ca]
            }
            _ => Vec::new(),
        };
        for p in &tls_paths {
            let p = p.to_str().expect("utf-8 path");
            assert!(
                mounts.contains_key(p),
                "{name}: its config names {p}, which is not mounted"
            );
            checked_configs += 1;
        }
    }
    assert_eq!(
        checked_configs,
        4 * 3,
        "hub and three nodes, three TLS files each"
    );
    assert_eq!(node_hubs.len(), 3);
    for (node, hubs) in &node_hubs {
        assert!(
            hub_names.iter().all(|h| hubs.contains(h)),
            "{node}'s [policy] hubs {hubs:?} lacks the hub {hub_names:?}: it would refuse it"
        );
    }
    assert!(docker.join("Dockerfile").is_file());
    let dockerfile = read(&docker.join("Dockerfile"));
    assert!(
        dockerfile
            .contains("cargo build --release --locked --bin tudashalo-node --bin tudashalo-hub")
    );
}

// --- Kubernetes -----------------------------------------------------------------

#[test]
fn k8s_manifests_reference_what_exists() {
    let k8s = deploy().join("k8s");
    let kustomization = yaml_documents(&k8s.join("kustomization.yaml"));
    let resources = strings(get(&kustomization[0], "resources"));
    assert!(!resources.is_empty());
    for r in &resources {
        assert!(k8s.join(r).is_file(), "kustomization lists missing {r}");
    }
    // Every manifest beside it is listed.
    for entry in std::fs::read_dir(&k8s).expect("reading deploy/k8s") {
        let file = entry.expect("dir entry").file_name();
        let file = file.to_str().expect("utf-8 name");
        if file.ends_with(".yaml") && file != "kustomization.yaml" {
            assert!(
                resources.iter().any(|r| r == file),
                "{file} is not in kustomization.yaml"
            );
        }
    }

    let mut objects: Vec<Value> = Vec::new();
    for r in &resources {
        for doc in yaml_documents(&k8s.join(r)) {
            for key in ["apiVersion", "kind"] {
                assert!(get(&doc, key).is_some(), "{r}: a document without {key}");
            }
            assert!(
                path_str(&doc, &["metadata", "name"]).is_some(),
                "{r}: no name"
            );
            objects.push(doc);
        }
    }
    let of_kind = |kind: &str| -> Vec<&Value> {
        objects
            .iter()
            .filter(|o| path_str(o, &["kind"]) == Some(kind))
            .collect()
    };
    let named = |kind: &str, name: &str| {
        of_kind(kind)
            .into_iter()
            .find(|o| path_str(o, &["metadata", "name"]) == Some(name))
    };
    let readme = read(&k8s.join("README.md"));

    let workloads: Vec<&Value> = of_kind("Deployment")
        .into_iter()
        .chain(of_kind("StatefulSet"))
        .collect();
    assert_eq!(
        workloads.len(),
        2,
        "the hub Deployment and a node StatefulSet"
    );
    let hub = named("Deployment", "tudashalo-hub").expect("hub Deployment");
    assert_eq!(
        get(get(hub, "spec").expect("spec"), "replicas").and_then(Value::as_u64),
        Some(3)
    );

    let mut configs_checked = 0;
    let mut hub_names: Vec<String> = Vec::new();
    let mut node_hubs: Vec<(String, Vec<String>)> = Vec::new();
    for workload in workloads {
        let wname = path_str(workload, &["metadata", "name"]).expect("name");
        let spec = get(workload, "spec").expect("spec");
        let pod = get(get(spec, "template").expect("template"), "spec").expect("pod spec");
        assert_eq!(
            get(
                get(pod, "securityContext").expect("pod securityContext"),
                "runAsNonRoot"
            )
            .and_then(Value::as_bool),
            Some(true),
            "{wname}: runAsNonRoot"
        );

        // The pod's template labels must be selected by the selector.
        let labels = get(
            get(get(spec, "template").expect("t"), "metadata").expect("m"),
            "labels",
        )
        .and_then(Value::as_mapping)
        .expect("template labels");
        let selector = get(get(spec, "selector").expect("selector"), "matchLabels")
            .and_then(Value::as_mapping)
            .expect("matchLabels");
        for (k, v) in selector {
            assert_eq!(
                labels.get(k),
                Some(v),
                "{wname}: selector {k:?} not on the pods"
            );
        }

        // Volumes: declared, or from a claim template.
        let mut volumes: BTreeMap<String, Value> = BTreeMap::new();
        for v in seq(get(pod, "volumes")) {
            volumes.insert(
                path_str(&v, &["name"]).expect("volume name").to_string(),
                v.clone(),
            );
        }
        for claim in seq(get(spec, "volumeClaimTemplates")) {
            volumes.insert(
                path_str(&claim, &["metadata", "name"])
                    .expect("claim name")
                    .to_string(),
                claim.clone(),
            );
        }
        if path_str(workload, &["kind"]) == Some("StatefulSet") {
            assert!(
                !seq(get(spec, "volumeClaimTemplates")).is_empty(),
                "{wname}: a volumeClaimTemplate"
            );
            let service = path_str(spec, &["serviceName"]).expect("serviceName");
            assert!(
                named("Service", service).is_some(),
                "{wname}: no Service {service}"
            );
        }
        for v in volumes.values() {
            if let Some(cm) = path_str(v, &["configMap", "name"]) {
                assert!(
                    named("ConfigMap", cm).is_some(),
                    "{wname}: no ConfigMap {cm}"
                );
            }
            for source in seq(get(get(v, "projected").unwrap_or(&Value::Null), "sources")) {
                if let Some(secret) = path_str(&source, &["secret", "name"]) {
                    assert!(
                        readme.contains(secret),
                        "{wname}: Secret {secret} is not explained in k8s/README.md"
                    );
                }
            }
        }

        for container in seq(get(pod, "containers")) {
            let cname = path_str(&container, &["name"]).expect("container name");
            let sc = get(&container, "securityContext").expect("container securityContext");
            assert_eq!(
                get(sc, "readOnlyRootFilesystem").and_then(Value::as_bool),
                Some(true)
            );
            assert_eq!(
                get(sc, "allowPrivilegeEscalation").and_then(Value::as_bool),
                Some(false)
            );
            assert_eq!(
                strings(get(get(sc, "capabilities").expect("capabilities"), "drop")),
                vec!["ALL".to_string()],
                "{wname}/{cname}: drop ALL capabilities"
            );
            for probe in ["readinessProbe", "livenessProbe"] {
                let p =
                    get(&container, probe).unwrap_or_else(|| panic!("{wname}/{cname}: no {probe}"));
                assert!(
                    get(p, "tcpSocket").is_some(),
                    "{wname}/{cname}: {probe} is tcpSocket"
                );
                assert!(
                    get(p, "grpc").is_none(),
                    "kubelet gRPC probes cannot do mTLS"
                );
            }

            // Mount target -> where it comes from.
            let mut files: BTreeSet<String> = BTreeSet::new();
            let mut config_text: Option<(String, String)> = None;
            for mount in seq(get(&container, "volumeMounts")) {
                let vname = path_str(&mount, &["name"]).expect("mount name");
                let target = path_str(&mount, &["mountPath"]).expect("mountPath");
                let volume = volumes
                    .get(vname)
                    .unwrap_or_else(|| panic!("{wname}/{cname}: undeclared volume {vname}"));
                if let Some(cm) = path_str(volume, &["configMap", "name"]) {
                    let key = path_str(&mount, &["subPath"]).expect("config mounted by subPath");
                    let text = named("ConfigMap", cm)
                        .and_then(|c| path_str(c, &["data", key]))
                        .unwrap_or_else(|| panic!("ConfigMap {cm} has no {key}"));
                    config_text = Some((target.to_string(), text.to_string()));
                }
                for source in seq(get(
                    get(volume, "projected").unwrap_or(&Value::Null),
                    "sources",
                )) {
                    for item in seq(get(get(&source, "secret").expect("secret"), "items")) {
                        files.insert(format!(
                            "{target}/{}",
                            path_str(&item, &["path"]).expect("item path")
                        ));
                    }
                }
            }
            let command = strings(get(&container, "command"));
            let (target, text) = config_text.expect("a config file from a ConfigMap");
            let tls = match command.first().map(String::as_str) {
                Some("tudashalo-hub") => {
                    assert!(command.contains(&target), "{wname}: --config {target}");
                    let c = load_hub_toml(&text, &format!("{wname}'s hub.toml"));
                    hub_names.push(c.name.clone());
                    vec![c.tls.cert, c.tls.key, c.tls.ca]
                }
                Some("tudashalo-node") => {
                    let data = command
                        .iter()
                        .skip_while(|a| *a != "--data")
                        .nth(1)
                        .expect("--data DIR");
                    assert_eq!(target, format!("{data}/node.toml"), "{wname}");
                    let c = load_node_toml(&text, &format!("{wname}'s node.toml"));
                    node_hubs.push((c.name.clone(), c.policy.hubs.clone()));
                    let tls = c.tls.expect("[tls]");
                    vec![tls.cert, tls.key, tls.ca]
                }
                other => panic!("{wname}: unexpected command {other:?}"),
            };
            for p in tls {
                let p = p.to_str().expect("utf-8").to_string();
                assert!(
                    files.contains(&p),
                    "{wname}: {p} comes from no Secret ({files:?})"
                );
                configs_checked += 1;
            }
        }
    }
    assert_eq!(configs_checked, 6);
    for (node, hubs) in &node_hubs {
        assert!(
            hub_names.iter().all(|h| hubs.contains(h)),
            "{node}'s [policy] hubs {hubs:?} lacks the hub {hub_names:?}: it would refuse it"
        );
    }

    // Services select pods that exist.
    for service in of_kind("Service") {
        let selector = get(get(service, "spec").expect("spec"), "selector")
            .and_then(Value::as_mapping)
            .expect("selector");
        let matched = objects.iter().any(|o| {
            get(o, "spec")
                .and_then(|s| get(s, "template"))
                .and_then(|t| get(t, "metadata"))
                .and_then(|m| get(m, "labels"))
                .and_then(Value::as_mapping)
                .is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
        });
        assert!(
            matched,
            "{:?} selects no pods",
            path_str(service, &["metadata", "name"])
        );
    }
}

// --- scripts --------------------------------------------------------------------

fn shell_scripts(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a deploy folder") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            shell_scripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "sh") {
            out.push(path);
        }
    }
}

#[test]
fn shell_scripts_are_valid_bash() {
    let mut scripts = Vec::new();
    shell_scripts(&deploy(), &mut scripts);
    assert!(
        scripts.len() >= 2,
        "setup.sh and run.sh at least: {scripts:?}"
    );
    for script in scripts {
        let out = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("running bash -n");
        assert!(
            out.status.success(),
            "bash -n {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// --- the federation in network namespaces ---------------------------------------

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn netns_works() -> bool {
    let name = format!("tdh-probe-{}", std::process::id());
    let added = Command::new("ip")
        .args(["netns", "add", &name])
        .output()
        .is_ok_and(|o| o.status.success());
    if added {
        let _ = Command::new("ip").args(["netns", "delete", &name]).output();
    }
    added
}

/// `target/<profile>/`, with both binaries built for this profile.
fn built_binaries() -> PathBuf {
    let node = super::support::workspace_binary("tudashalo-node");
    node.parent().expect("target/<profile>").to_path_buf()
}

/// Needs root (network namespaces): `.ci/run` runs it, as root, with
/// `cargo test --workspace --test e2e -- --ignored netns_`. Run so,
/// it fails, never skips, where namespaces cannot be made.
#[test]
#[ignore = "needs root and network namespaces"]
fn netns_federation_end_to_end() {
    assert!(is_root(), "needs root (ip netns): run it as root");
    assert!(
        netns_works(),
        "cannot make a network namespace (`ip netns add` failed)"
    );
    let bin = built_binaries();
    let prefix = format!("tdt{}", std::process::id() % 1_000_000);
    let started = Instant::now();
    // `timeout` sends SIGTERM, on which the script still cleans up.
    let out = Command::new("timeout")
        .arg("90")
        .arg("bash")
        .arg(deploy().join("netns/run.sh"))
        .arg("--bin")
        .arg(&bin)
        .args(["--prefix", &prefix, "--nodes", "3", "--query", "turizmus"])
        .env("TUDASHALO_LOG", "warn")
        .output()
        .expect("running deploy/netns/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "run.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("members ok 3/3"), "{stdout}");
    assert!(stdout.contains("OK: federated search across 3"), "{stdout}");
    // The sample documents of all three nodes were found.
    for node in ["edelenyi", "kisteleki", "szecsenyi"] {
        assert!(
            stdout.contains(&format!("{node}: ")),
            "no hit from {node}:\n{stdout}"
        );
    }
    // Local documents never leave their node.
    assert!(!stdout.contains("belso"), "{stdout}");
    // Aggregates: the hub pulled them, and every member answered.
    assert!(
        stdout.contains("== tudashalo-hub pull"),
        "run.sh did not pull aggregates:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("tudashalo-hub pull failed"),
        "pull failed:\n{stdout}\n{stderr}"
    );
    for node in ["edelenyi", "kisteleki", "szecsenyi"] {
        assert!(
            stdout.contains(&format!("{node},2023,nepesseg,")),
            "no aggregate from {node}:\n{stdout}"
        );
    }
    // Nothing is left behind.
    let left = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        !left.lines().any(|l| l.starts_with(&format!("{prefix}-"))),
        "namespaces left behind: {left}"
    );
    eprintln!("netns federation: {:.1} s", started.elapsed().as_secs_f64());
}
