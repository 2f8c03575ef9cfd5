//! A check of a GGUF file's structure before llama.cpp sees it, so a missing, foreign or truncated
//! file gets a clear error. It reads the header, the metadata and the tensor table, and checks that
//! every tensor's data starts inside the file.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::ModelError;

const MAGIC: &[u8; 4] = b"GGUF";
/// Longest string or array we accept; anything longer means the file is corrupt.
const MAX_LENGTH: u64 = 1 << 28;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GgufSummary {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata_count: u64,
    pub name: Option<String>,
    pub architecture: Option<String>,
    pub file_size: u64,
}

pub fn check_gguf(path: &Path) -> Result<GgufSummary, ModelError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ModelError::MissingFile(path.to_owned()));
        }
        Err(error) => {
            return Err(ModelError::LoadFailed(format!("cannot open {}: {error}", path.display())));
        }
    };
    let file_size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if file.metadata().is_ok_and(|metadata| metadata.is_dir()) {
        return Err(ModelError::NotGguf(path.to_owned()));
    }
    let mut reader = GgufReader { inner: BufReader::new(file) };
    let truncated = |detail: String| ModelError::Truncated { path: path.to_owned(), detail };

    let mut magic = [0; 4];
    if reader.inner.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(ModelError::NotGguf(path.to_owned()));
    }
    let result = (|| -> Result<GgufSummary, Defect> {
        let version = reader.u32()?;
        if !(2..=3).contains(&version) {
            return Err(Defect::Version(version));
        }
        let tensor_count = reader.u64()?;
        let metadata_count = reader.u64()?;
        let mut summary = GgufSummary {
            version,
            tensor_count,
            metadata_count,
            file_size,
            ..GgufSummary::default()
        };
        let mut alignment = 32;
        for _ in 0..metadata_count {
            let key = reader.string()?;
            let value_type = reader.u32()?;
            match (key.as_str(), value_type) {
                ("general.name", 8) => summary.name = Some(reader.string()?),
                ("general.architecture", 8) => summary.architecture = Some(reader.string()?),
                ("general.alignment", 4) => alignment = u64::from(reader.u32()?).max(1),
                _ => reader.skip_value(value_type)?,
            }
        }
        let mut largest_offset = 0;
        for _ in 0..tensor_count {
            let _name = reader.string()?;
            let dimensions = reader.u32()?;
            if dimensions > 8 {
                return Err(Defect::Dimensions(dimensions));
            }
            for _ in 0..dimensions {
                reader.u64()?;
            }
            let _tensor_type = reader.u32()?;
            largest_offset = largest_offset.max(reader.u64()?);
        }
        let header_end = reader.position()?;
        let data_start = header_end.div_ceil(alignment) * alignment;
        if tensor_count > 0 && data_start.saturating_add(largest_offset) >= file_size {
            return Err(Defect::DataCut {
                reaches: data_start.saturating_add(largest_offset),
                file_size,
            });
        }
        Ok(summary)
    })();
    result.map_err(|defect| truncated(defect.to_string()))
}

/// What is wrong with a file that starts like a GGUF file; the detail of
/// [`ModelError::Truncated`].
#[derive(Debug, thiserror::Error)]
enum Defect {
    #[error("the file ends inside the header")]
    HeaderCut,
    #[error("unsupported GGUF version {0}")]
    Version(u32),
    #[error("a tensor has {0} dimensions")]
    Dimensions(u32),
    #[error("a header field claims {0} elements")]
    Length(u64),
    #[error("unknown array element type {0}")]
    ElementType(u32),
    #[error("unknown metadata value type {0}")]
    ValueType(u32),
    #[error("tensor data should reach past byte {reaches} but the file has {file_size} bytes")]
    DataCut { reaches: u64, file_size: u64 },
    #[error("cannot read the header: {0}")]
    Read(String),
    #[error("cannot seek: {0}")]
    Seek(String),
}

struct GgufReader {
    inner: BufReader<File>,
}

impl GgufReader {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], Defect> {
        let mut buffer = [0; N];
        self.inner.read_exact(&mut buffer).map_err(|_| Defect::HeaderCut)?;
        Ok(buffer)
    }

    fn u32(&mut self) -> Result<u32, Defect> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64, Defect> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn length(&mut self) -> Result<u64, Defect> {
        let length = self.u64()?;
        if length > MAX_LENGTH {
            return Err(Defect::Length(length));
        }
        Ok(length)
    }

    fn string(&mut self) -> Result<String, Defect> {
        let length = self.length()?;
        let mut buffer = Vec::new();
        (&mut self.inner)
            .take(length)
            .read_to_end(&mut buffer)
            .map_err(|error| Defect::Read(error.to_string()))?;
        if buffer.len() as u64 != length {
            return Err(Defect::HeaderCut);
        }
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }

    fn skip(&mut self, count: u64) -> Result<(), Defect> {
        let before = self.position()?;
        let size = self.inner.get_ref().metadata().map(|metadata| metadata.len()).unwrap_or(0);
        if before.saturating_add(count) > size {
            return Err(Defect::HeaderCut);
        }
        self.inner
            .seek(SeekFrom::Current(count as i64))
            .map_err(|error| Defect::Seek(error.to_string()))?;
        Ok(())
    }

    fn position(&mut self) -> Result<u64, Defect> {
        self.inner.stream_position().map_err(|error| Defect::Seek(error.to_string()))
    }

    fn skip_value(&mut self, value_type: u32) -> Result<(), Defect> {
        match value_type {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => {
                let length = self.length()?;
                self.skip(length)
            }
            9 => {
                let element_type = self.u32()?;
                let count = self.length()?;
                let element_size = match element_type {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    10..=12 => 8,
                    8 => {
                        for _ in 0..count {
                            let length = self.length()?;
                            self.skip(length)?;
                        }
                        return Ok(());
                    }
                    other => return Err(Defect::ElementType(other)),
                };
                self.skip(count * element_size)
            }
            other => Err(Defect::ValueType(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nextedit-gguf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A small valid GGUF file: two metadata entries and one tensor of 64 bytes.
    fn tiny_gguf() -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"GGUF");
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&2u64.to_le_bytes());
        let string = |bytes: &mut Vec<u8>, text: &str| {
            bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
        };
        string(&mut bytes, "general.name");
        bytes.extend_from_slice(&8u32.to_le_bytes());
        string(&mut bytes, "tiny");
        string(&mut bytes, "tokenizer.scores");
        bytes.extend_from_slice(&9u32.to_le_bytes());
        bytes.extend_from_slice(&6u32.to_le_bytes());
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(&[0; 12]);
        string(&mut bytes, "weight");
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&16u64.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        while bytes.len() % 32 != 0 {
            bytes.push(0);
        }
        bytes.extend_from_slice(&[0; 64]);
        bytes
    }

    #[test]
    fn reads_a_valid_header() {
        let path = temp_file("valid.gguf", &tiny_gguf());
        let summary = check_gguf(&path).unwrap();
        assert_eq!(summary.name.as_deref(), Some("tiny"));
        assert_eq!((summary.version, summary.tensor_count, summary.metadata_count), (3, 1, 2));
    }

    #[test]
    fn reports_missing_foreign_and_truncated_files() {
        let missing = std::env::temp_dir().join("nextedit-no-such-model.gguf");
        assert_eq!(check_gguf(&missing), Err(ModelError::MissingFile(missing.clone())));

        let foreign = temp_file("foreign.gguf", b"<html>not a model</html>");
        assert_eq!(check_gguf(&foreign), Err(ModelError::NotGguf(foreign.clone())));
        let empty = temp_file("empty.gguf", b"");
        assert_eq!(check_gguf(&empty), Err(ModelError::NotGguf(empty.clone())));

        let bytes = tiny_gguf();
        let header_cut = temp_file("header-cut.gguf", &bytes[..40]);
        let error = check_gguf(&header_cut).unwrap_err();
        assert!(matches!(error, ModelError::Truncated { .. }), "{error}");
        let data_cut = temp_file("data-cut.gguf", &bytes[..bytes.len() - 64]);
        let error = check_gguf(&data_cut).unwrap_err();
        assert!(error.to_string().starts_with("the model file is truncated or corrupt"), "{error}");
    }
}
