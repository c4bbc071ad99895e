//! Test plugin `test-wit-0-1-3`: the one-linear-layer model of `../model.rs`, built with raw
//! wit-bindgen against the frozen `gs:plugin@0.1.3` (`wit/frozen/0.1.3`).

mod bindings {
    wit_bindgen::generate!({
        world: "model",
        path: "../../../../wit/frozen/0.1.3",
        // Exported by hand (`decode_export!`).
        skip: ["decode"],
    });
}

include!("../../model.rs");

capabilities!();
decode_export!("gs:plugin/model-api@0.1.3#decode");
