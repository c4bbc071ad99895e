//! Every released `gs:plugin` version stays frozen under `wit/frozen/<version>/`, the top-level
//! `wit/*.wit` files are the newest of them, and each version only adds to the one before it
//! (the rule `wit/README.md` states). Components built against each frozen version load and
//! train on this host (`tests/plugins/wit-lines`).
//!
//! The additive rule is checked structurally, through wit-parser's `Resolve`: every interface,
//! type (with its definition), function (with its signature), resource method and world
//! import or export of a version must be in the next one, described the same way.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gs_tests::{demo_yaml, plugin_path, run_gs, run_nc_on_demo, small_demo_graph_with};
use wit_parser::{
    FunctionKind, Handle, Resolve, Type, TypeDefKind, TypeId, TypeOwner, WorldItem, WorldKey,
};

fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

/// `(version, folder)` of every frozen version, oldest first.
fn frozen_versions(frozen: &Path) -> Vec<((u64, u64, u64), PathBuf)> {
    let mut versions: Vec<_> = std::fs::read_dir(frozen)
        .unwrap_or_else(|e| panic!("`{}`: {e}", frozen.display()))
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            assert!(
                path.is_dir(),
                "`{}` is not a version folder",
                path.display()
            );
            let name = path.file_name().unwrap().to_str().unwrap();
            (parse_version(name), path)
        })
        .collect();
    versions.sort();
    versions
}

fn parse_version(name: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = name
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("`{name}` is not a version"))
        })
        .collect();
    match parts[..] {
        [major, minor, patch] => (major, minor, patch),
        _ => panic!("`{name}` is not a MAJOR.MINOR.PATCH version"),
    }
}

fn version_name((major, minor, patch): (u64, u64, u64)) -> String {
    format!("{major}.{minor}.{patch}")
}

/// The `.wit` files directly in `dir` (not in its subfolders), by file name.
fn wit_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wit"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Parses the package in `dir`, returning the resolve, the package's id and its name with
/// version (`gs:plugin@0.1.2`).
fn parse(dir: &Path) -> (Resolve, wit_parser::PackageId, String) {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(dir)
        .unwrap_or_else(|e| panic!("`{}` does not parse: {e:?}", dir.display()));
    let name = resolve.packages[package].name.to_string();
    (resolve, package, name)
}

/// Every item a component can depend on, as `kind path` → a description of its definition that
/// names types by `interface.name` (never by arena id), so two resolves compare.
fn surface(resolve: &Resolve, package: wit_parser::PackageId) -> BTreeMap<String, String> {
    let mut items = BTreeMap::new();
    let package = &resolve.packages[package];
    for (name, &id) in &package.interfaces {
        let interface = &resolve.interfaces[id];
        items.insert(format!("interface {name}"), String::new());
        for (ty_name, &ty) in &interface.types {
            items.insert(
                format!("type {name}.{ty_name}"),
                type_definition(resolve, ty),
            );
        }
        for (func_name, func) in &interface.functions {
            items.insert(format!("func {name}.{func_name}"), function(resolve, func));
        }
    }
    for (name, &id) in &package.worlds {
        let world = &resolve.worlds[id];
        for (direction, entries) in [("import", &world.imports), ("export", &world.exports)] {
            for (key, item) in entries {
                let key = match key {
                    WorldKey::Name(name) => name.clone(),
                    WorldKey::Interface(id) => interface_name(resolve, *id),
                };
                let item = match item {
                    WorldItem::Interface { id, .. } => {
                        format!("interface {}", interface_name(resolve, *id))
                    }
                    WorldItem::Function(func) => function(resolve, func),
                    WorldItem::Type { id, .. } => type_definition(resolve, *id),
                };
                items.insert(format!("world {name} {direction} {key}"), item);
            }
        }
    }
    items
}

fn interface_name(resolve: &Resolve, id: wit_parser::InterfaceId) -> String {
    let interface = &resolve.interfaces[id];
    let name = interface
        .name
        .clone()
        .unwrap_or_else(|| "<anonymous>".into());
    // The package without its version: `gs:plugin/tensors` at every patch.
    match interface.package {
        Some(package) => {
            let package = &resolve.packages[package].name;
            format!("{}:{}/{name}", package.namespace, package.name)
        }
        None => name,
    }
}

fn function(resolve: &Resolve, func: &wit_parser::Function) -> String {
    let kind = match func.kind {
        FunctionKind::Freestanding => "func".to_string(),
        FunctionKind::AsyncFreestanding => "async func".to_string(),
        FunctionKind::Method(r) => format!("method of {}", type_ref(resolve, Type::Id(r))),
        FunctionKind::AsyncMethod(r) => {
            format!("async method of {}", type_ref(resolve, Type::Id(r)))
        }
        FunctionKind::Static(r) => format!("static of {}", type_ref(resolve, Type::Id(r))),
        FunctionKind::AsyncStatic(r) => {
            format!("async static of {}", type_ref(resolve, Type::Id(r)))
        }
        FunctionKind::Constructor(r) => {
            format!("constructor of {}", type_ref(resolve, Type::Id(r)))
        }
    };
    let params: Vec<String> = func
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, type_ref(resolve, p.ty)))
        .collect();
    let mut out = format!("{kind}({})", params.join(", "));
    if let Some(result) = func.result {
        write!(out, " -> {}", type_ref(resolve, result)).unwrap();
    }
    out
}

/// A type where it is used: a named type by its owner and name, an anonymous one by its
/// structure.
fn type_ref(resolve: &Resolve, ty: Type) -> String {
    match ty {
        Type::Id(id) => {
            let def = &resolve.types[id];
            match (&def.name, def.owner) {
                (Some(name), TypeOwner::Interface(owner)) => {
                    format!("{}.{name}", interface_name(resolve, owner))
                }
                (Some(name), TypeOwner::World(world)) => {
                    format!("{}.{name}", resolve.worlds[world].name)
                }
                (Some(name), TypeOwner::None) => name.clone(),
                (None, _) => kind(resolve, id),
            }
        }
        primitive => format!("{primitive:?}").to_lowercase(),
    }
}

/// A named type's definition.
fn type_definition(resolve: &Resolve, id: TypeId) -> String {
    kind(resolve, id)
}

fn kind(resolve: &Resolve, id: TypeId) -> String {
    let t = |ty: Type| type_ref(resolve, ty);
    let opt = |ty: Option<Type>| ty.map_or_else(|| "_".to_string(), t);
    match &resolve.types[id].kind {
        TypeDefKind::Record(r) => {
            let fields: Vec<String> = r
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, t(f.ty)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Handle(Handle::Own(r)) => format!("own<{}>", t(Type::Id(*r))),
        TypeDefKind::Handle(Handle::Borrow(r)) => format!("borrow<{}>", t(Type::Id(*r))),
        TypeDefKind::Flags(f) => {
            let flags: Vec<&str> = f.flags.iter().map(|f| f.name.as_str()).collect();
            format!("flags {{ {} }}", flags.join(", "))
        }
        TypeDefKind::Tuple(tuple) => {
            let types: Vec<String> = tuple.types.iter().map(|&ty| t(ty)).collect();
            format!("tuple<{}>", types.join(", "))
        }
        TypeDefKind::Variant(v) => {
            let cases: Vec<String> = v
                .cases
                .iter()
                .map(|c| format!("{}({})", c.name, opt(c.ty)))
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        TypeDefKind::Enum(e) => {
            let cases: Vec<&str> = e.cases.iter().map(|c| c.name.as_str()).collect();
            format!("enum {{ {} }}", cases.join(", "))
        }
        TypeDefKind::Option(ty) => format!("option<{}>", t(*ty)),
        TypeDefKind::Result(r) => format!("result<{}, {}>", opt(r.ok), opt(r.err)),
        TypeDefKind::List(ty) => format!("list<{}>", t(*ty)),
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", t(*k), t(*v)),
        TypeDefKind::FixedLengthList(ty, n) => format!("list<{}, {n}>", t(*ty)),
        TypeDefKind::Future(ty) => format!("future<{}>", opt(*ty)),
        TypeDefKind::Stream(ty) => format!("stream<{}>", opt(*ty)),
        // `use other.{name}` or `type a = b`.
        TypeDefKind::Type(ty) => format!("= {}", t(*ty)),
        TypeDefKind::Unknown => "unknown".into(),
    }
}

/// What of `older` is missing or different in `newer`, one line per item.
fn breaking_changes(older: &Path, newer: &Path) -> Vec<String> {
    let (old_resolve, old_package, _) = parse(older);
    let (new_resolve, new_package, _) = parse(newer);
    let old = surface(&old_resolve, old_package);
    let new = surface(&new_resolve, new_package);
    let mut changes = Vec::new();
    for (item, definition) in &old {
        match new.get(item) {
            None => changes.push(format!("{item} is gone (was `{definition}`)")),
            Some(now) if now != definition => {
                changes.push(format!("{item} changed: `{definition}` → `{now}`"));
            }
            Some(_) => {}
        }
    }
    changes
}

#[test]
fn every_frozen_version_parses_and_declares_its_folder_name() {
    let versions = frozen_versions(&wit_dir().join("frozen"));
    assert!(versions.len() >= 5, "0.1.0 to 0.1.4 at least: {versions:?}");
    for (version, dir) in &versions {
        let (resolve, package, name) = parse(dir);
        assert_eq!(
            name,
            format!("gs:plugin@{}", version_name(*version)),
            "`{}`",
            dir.display()
        );
        let worlds = &resolve.packages[package].worlds;
        assert!(
            worlds.contains_key("model"),
            "{}: {worlds:?}",
            dir.display()
        );
    }
}

/// The top-level files are the newest frozen version, byte for byte, and the host speaks it:
/// editing the contract without freezing a new version fails here.
#[test]
fn the_top_level_wit_is_the_newest_frozen_version_and_the_hosts() {
    let wit = wit_dir();
    let versions = frozen_versions(&wit.join("frozen"));
    let (newest, newest_dir) = versions.last().expect("a frozen version");
    assert_eq!(
        version_name(*newest),
        gs_runtime::SUPPORTED_VERSION,
        "the newest frozen version is not the one the host implements \
         (gs_runtime::SUPPORTED_VERSION)"
    );
    let (_, _, name) = parse(&wit);
    assert_eq!(name, format!("gs:plugin@{}", gs_runtime::SUPPORTED_VERSION));

    let top = wit_files(&wit);
    let frozen = wit_files(newest_dir);
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        frozen.keys().collect::<Vec<_>>(),
        "wit/ and `{}` hold different files",
        newest_dir.display()
    );
    for (file, bytes) in &top {
        assert!(
            frozen[file] == *bytes,
            "wit/{file} differs from its frozen copy in `{}`: a released version is never \
             edited; bump the version in wit/model.wit and freeze a new folder (wit/README.md)",
            newest_dir.display()
        );
    }
}

#[test]
fn each_version_keeps_everything_of_the_one_before() {
    let versions = frozen_versions(&wit_dir().join("frozen"));
    for pair in versions.windows(2) {
        let ((old, older), (new, newer)) = (&pair[0], &pair[1]);
        if old.0 != new.0 || old.1 != new.1 {
            // A new minor line may break; the old line keeps its own host bindings.
            continue;
        }
        let changes = breaking_changes(older, newer);
        assert!(
            changes.is_empty(),
            "gs:plugin@{} breaks @{}:\n{}",
            version_name(*new),
            version_name(*old),
            changes.join("\n")
        );
        // The check sees something: the older version's items are all there.
        let (resolve, package, _) = parse(older);
        let surface = surface(&resolve, package);
        for item in [
            "func model-api.forward",
            "func tensors.param",
            "func graph.[method]batch.input-features",
            "type types.task",
            "world model export gs:plugin/model-api",
        ] {
            assert!(surface.contains_key(item), "{item}: {:?}", surface.keys());
        }
    }
}

/// The additive check catches what would break an old component: a changed parameter type, a
/// changed record field, a removed resource method, a removed world export (each made on a
/// scratch copy of the newest version).
#[test]
fn the_additive_check_catches_breaking_edits() {
    let versions = frozen_versions(&wit_dir().join("frozen"));
    let (_, newest) = versions.last().unwrap();
    let edits: [(&str, &str, &str, &str); 4] = [
        (
            "tensors.wit",
            "narrow: func(dim: s64,",
            "narrow: func(dim: s32,",
            "func tensors.[method]tensor.narrow changed",
        ),
        (
            "model.wit",
            "hidden-size: u32,",
            "hidden-size: u64,",
            "type model-api.model-config changed",
        ),
        (
            "graph.wit",
            "target-node-type: func() -> string;",
            "",
            "func graph.[method]batch.target-node-type is gone",
        ),
        (
            "model.wit",
            "    @since(version = 0.1.1)\n    export model-capabilities;\n",
            "",
            "world model export gs:plugin/model-capabilities is gone",
        ),
    ];
    for (file, from, to, expected) in edits {
        let scratch = tempfile::tempdir().unwrap();
        for (name, bytes) in wit_files(newest) {
            std::fs::write(scratch.path().join(name), bytes).unwrap();
        }
        let path = scratch.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(from).count(), 1, "`{from}` in {file}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let changes = breaking_changes(newest, scratch.path());
        println!("{file}: `{from}` → `{to}`:\n  {}", changes.join("\n  "));
        assert!(
            changes.iter().any(|c| c.starts_with(expected)),
            "expected `{expected}…` in {changes:?}"
        );
    }
    // And an unchanged copy passes.
    assert!(breaking_changes(newest, newest).is_empty());
}

/// Components built against each frozen version (`tests/plugins/wit-lines`: one linear layer,
/// raw wit-bindgen) are inspected as that version and train node classification for real.
#[test]
fn components_built_against_each_frozen_version_load_and_train() {
    // mlp-like models see only the features: a stronger class signal gives them something to
    // learn (tests/tests/mlp.rs).
    let tmp = small_demo_graph_with("--feature-signal 3");
    let dir = tmp.path();
    let yaml = demo_yaml();
    let versions = frozen_versions(&wit_dir().join("frozen"));
    for (version, _) in &versions {
        let version = version_name(*version);
        let package = format!("test-wit-{}", version.replace('.', "-"));
        let plugin = plugin_path(&package);
        let plugin = plugin.to_str().unwrap();

        let inspect = run_gs(dir, &["plugin", "inspect", "--json", plugin]).ok();
        let info: serde_json::Value = serde_json::from_str(&inspect.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", inspect.stdout));
        assert_eq!(info["wit"], format!("gs:plugin@{version}"), "{info}");
        assert_eq!(info["name"], package, "{info}");
        // `model-capabilities` came with 0.1.1.
        assert_eq!(info["declares_capabilities"], version != "0.1.0", "{info}");
        let imports = info["imports"].as_array().unwrap();
        assert!(
            imports
                .iter()
                .any(|i| *i == format!("gs:plugin/tensors@{version}")),
            "{info}"
        );

        let model = format!("model-{version}");
        let run = run_nc_on_demo(
            dir,
            &yaml,
            &[
                "--plugin",
                plugin,
                "--num-epochs",
                "20",
                "--save-model-path",
                &model,
            ],
        )
        .ok();
        let losses = gs_tests::runs::epoch_losses(&dir.join(&model));
        let test = gs_tests::runs::best_test_score(&dir.join(&model));
        eprintln!(
            "{package}: losses {:.3} → {:.3}, test accuracy {test}",
            losses[0],
            losses[losses.len() - 1]
        );
        assert_eq!(losses.len(), 20, "{}", run.stdout);
        assert!(
            losses.iter().all(|l| l.is_finite()),
            "{package}: {losses:?}"
        );
        assert!(
            losses[losses.len() - 1] < 0.8 * losses[0],
            "{package}: the loss falls: {losses:?}\n{}",
            run.stdout
        );
        // Four classes: a model that did not train scores about 0.25.
        assert!(
            test > 0.6,
            "{package} trains: test accuracy {test}\n{}",
            run.stdout
        );
    }
}
