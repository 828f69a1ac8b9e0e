//! Snapshot signing keys: OpenSSH Ed25519 private key files, as written by
//! `qed generate signerkeys` or by `ssh-keygen -t ed25519 -N ""`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{LineEnding, PrivateKey};

use crate::core_types::Signer;

/// File name of the private key `qed generate signerkeys` writes.
pub const PRIVATE_KEY_FILE: &str = "qed_ed25519";
/// File name of the public key (OpenSSH `authorized_keys` line).
pub const PUBLIC_KEY_FILE: &str = "qed_ed25519.pub";

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an unencrypted OpenSSH Ed25519 private key.
    #[error("{path}: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The key files already exist (never overwritten).
    #[error("{0} already exists; refusing to overwrite a signing key")]
    Exists(PathBuf),
    /// The origin is not a valid key name.
    #[error("origin {origin:?} cannot name a signing key: {why}")]
    Origin {
        /// The origin.
        origin: String,
        /// The reason.
        why: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the 32-byte Ed25519 seed from an OpenSSH private key file, checking that its public
/// half matches.
pub fn load_seed(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    let format = |why: String| KeyError::Format {
        path: path.to_path_buf(),
        why,
    };
    let key = PrivateKey::from_openssh(text.as_bytes())
        .map_err(|e| format(format!("not an OpenSSH private key ({e})")))?;
    if key.is_encrypted() {
        return Err(format(
            "the key is encrypted with a passphrase; use `ssh-keygen -N \"\"`".into(),
        ));
    }
    let KeypairData::Ed25519(pair) = key.key_data() else {
        return Err(format(format!(
            "a {} key; an Ed25519 key is needed",
            key.algorithm()
        )));
    };
    let seed = pair.private.to_bytes();
    let derived = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    if derived != pair.public.0 {
        return Err(format(
            "the public key does not match the private key".into(),
        ));
    }
    Ok(seed)
}

/// The signer for `origin` with the key in `seed`.
pub fn signer(origin: &str, seed: &[u8; 32]) -> Result<Signer, KeyError> {
    Signer::new(origin, seed).map_err(|e| KeyError::Origin {
        origin: origin.to_string(),
        why: e.to_string(),
    })
}

/// Writes a new key pair into `dir` (created if needed): [`PRIVATE_KEY_FILE`] in OpenSSH format
/// with mode 0600 and [`PUBLIC_KEY_FILE`]. Never overwrites existing files. Returns the seed.
pub fn generate(dir: &Path) -> Result<[u8; 32], KeyError> {
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    for p in [&private_path, &public_path] {
        if p.exists() {
            return Err(KeyError::Exists(p.clone()));
        }
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Io {
        path: private_path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_key_files(&seed, &private_path, &public_path)?;
    Ok(seed)
}

/// Loads the key at `path`, or, if there is no file there, generates one at that path (used for
/// the default key of a single-node start).
pub fn load_or_generate(path: &Path) -> Result<([u8; 32], bool), KeyError> {
    if path.exists() {
        return Ok((load_seed(path)?, false));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut public = path.as_os_str().to_owned();
    public.push(".pub");
    write_key_files(&seed, path, Path::new(&public))?;
    Ok((seed, true))
}

fn write_key_files(
    seed: &[u8; 32],
    private_path: &Path,
    public_path: &Path,
) -> Result<(), KeyError> {
    let public = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(seed);
    both[32..].copy_from_slice(&public);
    let format = |e: ssh_key::Error| KeyError::Format {
        path: private_path.to_path_buf(),
        why: e.to_string(),
    };
    let pair = Ed25519Keypair::from_bytes(&both).map_err(format)?;
    let key = PrivateKey::new(KeypairData::Ed25519(pair), "qed").map_err(format)?;
    let pem = key.to_openssh(LineEnding::LF).map_err(format)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(private_path)
        .map_err(io(private_path))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(private_path))?;
    let line = key.public_key().to_openssh().map_err(format)?;
    fs::write(public_path, format!("{line}\n")).map_err(io(public_path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_load_back_with_mode_0600_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let seed = generate(dir.path()).unwrap();
        let private = dir.path().join(PRIVATE_KEY_FILE);
        assert_eq!(
            fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_seed(&private).unwrap(), seed);
        let public = fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        assert!(matches!(generate(dir.path()), Err(KeyError::Exists(_))));
        assert_eq!(load_seed(&private).unwrap(), seed);
    }

    #[test]
    fn load_or_generate_creates_once_then_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/key");
        let (seed, created) = load_or_generate(&path).unwrap();
        assert!(created);
        assert!(dir.path().join("sub/key.pub").exists());
        assert_eq!(load_or_generate(&path).unwrap(), (seed, false));
    }

    #[test]
    fn bad_key_files_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none");
        assert!(matches!(load_seed(&missing), Err(KeyError::Io { .. })));
        let junk = dir.path().join("junk");
        fs::write(
            &junk,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(matches!(load_seed(&junk), Err(KeyError::Format { .. })));
        fs::write(&junk, "hello").unwrap();
        assert!(matches!(load_seed(&junk), Err(KeyError::Format { .. })));
    }

    /// A key made by the real ssh-keygen (skipped when it is not installed).
    #[test]
    fn accepts_a_key_from_ssh_keygen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&path)
            .status();
        let Ok(status) = status else {
            eprintln!("ssh-keygen not installed; skipped");
            return;
        };
        assert!(status.success());
        let seed = load_seed(&path).unwrap();
        // The public key file ssh-keygen wrote must be the one derived from the seed.
        let public_line = fs::read_to_string(dir.path().join("id.pub")).unwrap();
        let public = ssh_key::PublicKey::from_openssh(public_line.trim()).unwrap();
        let ssh_key::public::KeyData::Ed25519(pk) = public.key_data() else {
            panic!("not ed25519")
        };
        assert_eq!(
            ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes(),
            pk.0
        );
        // An RSA key is refused.
        let rsa = dir.path().join("rsa");
        let ok = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f"])
            .arg(&rsa)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            assert!(matches!(load_seed(&rsa), Err(KeyError::Format { .. })));
        }
        // A passphrase-protected key is refused.
        let locked = dir.path().join("locked");
        let ok = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "secret", "-f"])
            .arg(&locked)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            assert!(matches!(load_seed(&locked), Err(KeyError::Format { .. })));
        }
    }
}
