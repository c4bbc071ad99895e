//! Test plugin `test-wrong-version`: a valid tiny model (the one-linear-layer model of
//! `tests/plugins/wit-lines/model.rs`) built against `gs:plugin@0.99.0`, a copy of the WIT in
//! `wit/` that differs from the real one only in its version: a far-future minor line, which
//! no host of the 0.1 line may load. A host for 0.1.x must refuse it before instantiating it,
//! naming both versions. It cannot use gs-plugin-sdk, which is built for 0.1.x, so it uses
//! wit-bindgen directly.

mod bindings {
    wit_bindgen::generate!({
        world: "model",
        path: "wit",
        // wit-bindgen cannot lift `decode`'s `list<tuple<string, borrow<tensor>>>`
        // (bytecodealliance/wit-bindgen#811); it is exported by hand (`decode_export!`).
        skip: ["decode"],
    });
}

include!("../../wit-lines/model.rs");

capabilities!();
decode_export!("gs:plugin/model-api@0.99.0#decode");
