use tch::{Cuda, Device};

/// The device a run uses, and a warning when the one asked for was not available.
#[derive(Debug, Clone)]
pub struct DeviceChoice {
    pub device: Device,
    pub warning: Option<String>,
}

/// Parse `cpu`, `cuda` or `cuda:N`; fall back to CPU with a warning when no such GPU exists.
pub fn choose_device(spec: &str) -> Result<DeviceChoice, String> {
    let spec = spec.trim().to_ascii_lowercase();
    let index = match spec.as_str() {
        "cpu" => {
            return Ok(DeviceChoice {
                device: Device::Cpu,
                warning: None,
            });
        }
        "cuda" | "gpu" => 0,
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(index)) => index,
            _ => {
                return Err(format!(
                    "unknown device `{spec}`; hint: use `cpu`, `cuda` or `cuda:N`"
                ));
            }
        },
    };
    let available = if Cuda::is_available() {
        Cuda::device_count() as usize
    } else {
        0
    };
    if index < available {
        Ok(DeviceChoice {
            device: Device::Cuda(index),
            warning: None,
        })
    } else {
        Ok(DeviceChoice {
            device: Device::Cpu,
            warning: Some(format!(
                "device `{spec}` asked for, but libtorch sees {available} CUDA device(s); running on CPU \
                 (hint: on a GPU machine run `cargo xtask bootstrap` so the CUDA build of libtorch is linked)"
            )),
        })
    }
}
