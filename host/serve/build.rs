//! Links `libtorch_cuda` into this crate's test binaries on a CUDA install of libtorch (see
//! `gs_torch_link::build`); every package whose executables link libtorch does the same.

fn main() {
    gs_torch_link::build::emit();
}
