//! The agency register: code, names and parent, so that totals roll up the
//! hierarchy (agency → district → city).

use rustc_hash::FxHashMap;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, ConfigErrors, table};

const COLUMNS: [&str; 4] = ["code", "name_zh", "name_en", "parent"];

/// Index of an agency in the register, which is sorted by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgencyId(pub u32);

#[derive(Debug, Clone)]
pub struct Agency {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent: Option<AgencyId>,
    /// Whether some agency names this one as its parent.
    pub has_children: bool,
}

#[derive(Debug, Deserialize)]
struct RegisterRow {
    code: String,
    name_zh: String,
    name_en: String,
    parent: String,
}

#[derive(Debug, Clone)]
pub struct Register {
    agencies: Vec<Agency>,
    by_code: FxHashMap<String, AgencyId>,
    /// Normalized Chinese and English names that name one agency.
    by_name: FxHashMap<String, AgencyId>,
    root: AgencyId,
}

impl Register {
    pub fn load(path: &Path) -> Result<Register, ConfigErrors> {
        let (mut rows, mut errors) = table::read::<RegisterRow>(path, &COLUMNS, &[]);
        let by_code: FxHashMap<String, AgencyId> = table::index_by_code(path, &mut rows, |r| &r.code, &mut errors)
            .into_iter()
            .map(|(code, i)| (code, AgencyId(i)))
            .collect();
        let mut agencies: Vec<Agency> = Vec::with_capacity(rows.len());
        let mut roots = Vec::new();
        for row in &rows {
            let r = &row.value;
            if r.name_zh.is_empty() || r.name_en.is_empty() {
                errors.push(ConfigError::new(
                    path,
                    Some(row.line),
                    format!("`{}`: name_zh and name_en are required", r.code),
                ));
            }
            let parent = if r.parent.is_empty() {
                roots.push(r.code.clone());
                None
            } else {
                let id = by_code.get(&r.parent).copied();
                if id.is_none() {
                    errors.push(ConfigError::new(
                        path,
                        Some(row.line),
                        format!("`{}`: parent `{}` is not in the register", r.code, r.parent),
                    ));
                }
                id
            };
            agencies.push(Agency {
                code: r.code.clone(),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                parent,
                has_children: false,
            });
        }
        for i in 0..agencies.len() {
            if let Some(p) = agencies[i].parent {
                agencies[p.0 as usize].has_children = true;
            }
        }
        // Every chain of parents must end at the root, without a cycle.
        for (i, row) in rows.iter().enumerate() {
            let mut steps = 0;
            let mut at = agencies.get(i).and_then(|a| a.parent);
            while let Some(p) = at {
                steps += 1;
                if steps > agencies.len() {
                    errors.push(ConfigError::new(
                        path,
                        Some(row.line),
                        format!("`{}`: its parents form a cycle", row.value.code),
                    ));
                    break;
                }
                at = agencies[p.0 as usize].parent;
            }
        }
        let root = match roots.as_slice() {
            [one] => by_code.get(one).copied(),
            [] => {
                errors.push(ConfigError::new(path, None, "no root: exactly one agency must have an empty parent"));
                None
            }
            many => {
                errors.push(ConfigError::new(
                    path,
                    None,
                    format!("several roots ({}): exactly one agency may have an empty parent", many.join(", ")),
                ));
                None
            }
        };
        match root {
            Some(root) if errors.is_empty() => {
                let names = agencies.iter().enumerate().flat_map(|(i, a)| {
                    let id = AgencyId(i as u32);
                    [(a.name_zh.as_str(), id), (a.name_en.as_str(), id)]
                });
                let by_name = super::sources::name_index(names);
                Ok(Register { agencies, by_code, by_name, root })
            }
            _ => Err(ConfigErrors(errors)),
        }
    }

    pub fn get(&self, code: &str) -> Option<AgencyId> {
        self.by_code.get(code).copied()
    }

    /// The agency a name (Chinese or English, any case) names, where only
    /// one agency has it.
    pub fn by_name(&self, name: &str) -> Option<AgencyId> {
        self.by_name.get(&super::sources::normalize(name)).copied()
    }

    pub fn agency(&self, id: AgencyId) -> &Agency {
        &self.agencies[id.0 as usize]
    }

    pub fn root(&self) -> AgencyId {
        self.root
    }

    pub fn iter(&self) -> impl Iterator<Item = (AgencyId, &Agency)> {
        self.agencies.iter().enumerate().map(|(i, a)| (AgencyId(i as u32), a))
    }

    pub fn len(&self) -> usize {
        self.agencies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agencies.is_empty()
    }

    /// The parents of `id`, nearest first, up to the root.
    pub fn ancestors(&self, id: AgencyId) -> impl Iterator<Item = AgencyId> + '_ {
        std::iter::successors(self.agency(id).parent, |p| self.agency(*p).parent)
    }
}
