//! Resources of a namespace (reference §1.4, §2.4): the shared parts. Each resource kind has
//! its own module for creation and kind-specific operations; listing, reading, deletion with
//! the association guard, and filters are common.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tb_model::resource::{ImageInfo, SecurityGroupInfo, SpecInfo, SshKeyInfo, VNetInfo};

use crate::keys::{self, ResourceKind};
use crate::{CoreError, CoreResult, SYSTEM_NS, Tumblebug, repo};

mod image;
mod security_group;
mod spec;
mod ssh_key;
mod vnet;

pub use security_group::parse_rules;
pub use vnet::validate_cidr;

/// A stored resource document.
pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: ResourceKind;
    fn id(&self) -> &str;
}

macro_rules! resource {
    ($t:ty, $kind:expr) => {
        impl Resource for $t {
            const KIND: ResourceKind = $kind;
            fn id(&self) -> &str {
                &self.id
            }
        }
    };
}

resource!(VNetInfo, ResourceKind::VNet);
resource!(SecurityGroupInfo, ResourceKind::SecurityGroup);
resource!(SshKeyInfo, ResourceKind::SshKey);
resource!(ImageInfo, ResourceKind::Image);
resource!(SpecInfo, ResourceKind::Spec);

/// `filterKey`/`filterVal` of list requests: keep objects whose top-level field (matched
/// case-insensitively) equals the value.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub key: String,
    pub value: String,
}

impl ListFilter {
    pub fn new(key: Option<String>, value: Option<String>) -> Option<ListFilter> {
        match key {
            Some(key) if !key.is_empty() => Some(ListFilter { key, value: value.unwrap_or_default() }),
            _ => None,
        }
    }

    pub fn matches<T: Serialize>(&self, obj: &T) -> bool {
        let Ok(Value::Object(map)) = serde_json::to_value(obj) else {
            return false;
        };
        let field =
            map.get(&self.key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(&self.key)).map(|(_, v)| v));
        match field {
            Some(Value::String(s)) => *s == self.value,
            Some(Value::Number(n)) => self.value.trim().parse::<f64>().ok() == n.as_f64(),
            Some(Value::Bool(b)) => self.value.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        }
    }
}

pub(crate) fn not_found(kind: ResourceKind, ns: &str, id: &str) -> CoreError {
    CoreError::not_found(format!("The {kind} {id} does not exist in namespace {ns}"))
}

impl Tumblebug {
    pub(crate) async fn require_ns(&self, ns: &str) -> CoreResult<()> {
        if self.ns_exists(ns).await? {
            Ok(())
        } else {
            Err(CoreError::not_found(format!("The namespace {ns} does not exist")))
        }
    }

    /// Stored resources of one kind (plus, in the system namespace, the catalog's specs and
    /// images), optionally filtered.
    pub async fn list_resources<T: Resource>(&self, ns: &str, filter: Option<&ListFilter>) -> CoreResult<Vec<T>> {
        self.require_ns(ns).await?;
        let mut items: Vec<T> = repo::list_children(self.store.as_ref(), &keys::resource_prefix(ns, T::KIND)).await?;
        if let Some(f) = filter {
            items.retain(|i| f.matches(i));
        }
        if ns == SYSTEM_NS {
            let snap = self.catalog();
            // Catalog entries are already of the requested type; filter before cloning.
            let catalog: &[T] = match T::KIND {
                ResourceKind::Spec => downcast(&snap.specs),
                ResourceKind::Image => downcast(&snap.images),
                _ => &[],
            };
            items.extend(catalog.iter().filter(|i| filter.is_none_or(|f| f.matches(*i))).cloned());
        }
        Ok(items)
    }

    pub async fn list_resource_ids(&self, ns: &str, kind: ResourceKind) -> CoreResult<Vec<String>> {
        self.require_ns(ns).await?;
        let mut ids = repo::list_child_ids(self.store.as_ref(), &keys::resource_prefix(ns, kind)).await?;
        if ns == SYSTEM_NS {
            let snap = self.catalog();
            match kind {
                ResourceKind::Spec => ids.extend(snap.specs.iter().map(|s| s.id.clone())),
                ResourceKind::Image => ids.extend(snap.images.iter().map(|i| i.id.clone())),
                _ => {}
            }
        }
        Ok(ids)
    }

    pub async fn get_resource<T: Resource>(&self, ns: &str, id: &str) -> CoreResult<T> {
        self.require_ns(ns).await?;
        if let Some(v) = repo::get::<T>(self.store.as_ref(), &keys::resource(ns, T::KIND, id)).await? {
            return Ok(v.value);
        }
        if ns == SYSTEM_NS {
            let snap = self.catalog();
            let found: Option<&T> = match T::KIND {
                ResourceKind::Spec => snap.spec(id).and_then(|s| (s as &dyn std::any::Any).downcast_ref()),
                ResourceKind::Image => snap.image(id).and_then(|i| (i as &dyn std::any::Any).downcast_ref()),
                _ => None,
            };
            if let Some(t) = found {
                return Ok(t.clone());
            }
        }
        Err(not_found(T::KIND, ns, id))
    }

    /// Stores a registered object: create-if-absent, or overwrite when `update` is asked for.
    pub(crate) async fn put_registered<T: Resource>(&self, ns: &str, info: &T, update: bool) -> CoreResult<()> {
        let key = keys::resource(ns, T::KIND, info.id());
        if update {
            self.store.put(&key, repo::encode(&key, info)?).await?;
            return Ok(());
        }
        repo::create(self.store.as_ref(), &key, info, &format!("The {} {}", T::KIND, info.id())).await.map(|_| ())
    }

    pub async fn resource_exists(&self, ns: &str, kind: ResourceKind, id: &str) -> CoreResult<bool> {
        if self.store.get(&keys::resource(ns, kind, id)).await?.is_some() {
            return Ok(true);
        }
        if ns == SYSTEM_NS {
            let snap = self.catalog();
            return Ok(match kind {
                ResourceKind::Spec => snap.spec(id).is_some(),
                ResourceKind::Image => snap.image(id).is_some(),
                _ => false,
            });
        }
        Ok(false)
    }

    /// Deletes one resource. Refused while objects are associated unless `force`; the cloud
    /// resource (vNet, security group, key pair) is deleted first, an already-gone one is fine.
    pub async fn delete_resource(&self, ns: &str, kind: ResourceKind, id: &str, force: bool) -> CoreResult<()> {
        self.require_ns(ns).await?;
        let key = keys::resource(ns, kind, id);
        let Some(current) = repo::get::<Value>(self.store.as_ref(), &key).await? else {
            if ns == SYSTEM_NS && self.resource_exists(ns, kind, id).await? {
                return Err(CoreError::conflict(format!(
                    "The {kind} {id} comes from the built-in catalog and cannot be deleted"
                )));
            }
            return Err(not_found(kind, ns, id));
        };
        let associated = string_list(&current.value, "associatedObjectList");
        if !associated.is_empty() && !force {
            return Err(CoreError::conflict(format!(
                "The {kind} {id} is in use by {:?}; Deletion is not allowed (use force=true for force deletion)",
                associated
            )));
        }
        if kind == ResourceKind::VNet && !force {
            let users = self.security_groups_of_vnet(ns, id).await?;
            if !users.is_empty() {
                return Err(CoreError::conflict(format!(
                    "The vNet {id} is used by security group(s) {users:?}; delete them first (or use force=true)"
                )));
            }
        }
        self.delete_cloud_side(kind, &current.value, force).await?;
        repo::delete_at(self.store.as_ref(), &key, current.revision).await?;
        tracing::info!(ns, kind = %kind, id, force, "resource deleted");
        Ok(())
    }

    async fn delete_cloud_side(&self, kind: ResourceKind, doc: &Value, force: bool) -> CoreResult<()> {
        let csp_id = str_field(doc, "cspResourceId");
        let conn_name = str_field(doc, "connectionName");
        if csp_id.is_empty() || !matches!(kind, ResourceKind::VNet | ResourceKind::SecurityGroup | ResourceKind::SshKey)
        {
            return Ok(());
        }
        let (conn, driver) = match self.clouds.resolve(&conn_name) {
            Ok(found) => found,
            Err(e) if force => {
                tracing::warn!(error = %e, connection = %conn_name, "connection gone; deleting the record only");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let result = match kind {
            ResourceKind::VNet => driver.delete_vnet(&conn, &csp_id).await,
            ResourceKind::SecurityGroup => driver.delete_security_group(&conn, &csp_id).await,
            _ => driver.delete_key_pair(&conn, &csp_id).await,
        };
        match result {
            Ok(()) | Err(tb_cloud::CloudError::NotFound { .. }) => Ok(()),
            Err(e) if force => {
                tracing::warn!(error = %e, csp_id = %csp_id, "cloud delete failed; force deletes the record anyway");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every resource of a kind whose id contains `matching` (all when empty). Stops at
    /// the first refusal, reporting what was deleted before it.
    pub async fn delete_resources(&self, ns: &str, kind: ResourceKind, matching: &str) -> CoreResult<Vec<String>> {
        self.require_ns(ns).await?;
        let ids = repo::list_child_ids(self.store.as_ref(), &keys::resource_prefix(ns, kind)).await?;
        let mut deleted = Vec::new();
        for id in ids.into_iter().filter(|id| id.contains(matching)) {
            if let Err(e) = self.delete_resource(ns, kind, &id, false).await {
                return Err(match e {
                    CoreError::Conflict(msg) => {
                        CoreError::conflict(format!("deleted {deleted:?}, then stopped: {msg}"))
                    }
                    other => other,
                });
            }
            deleted.push(id);
        }
        Ok(deleted)
    }

    /// Records that `object_key` (a VM key) uses a resource.
    pub async fn add_association(&self, ns: &str, kind: ResourceKind, id: &str, object_key: &str) -> CoreResult<usize> {
        let key = keys::resource(ns, kind, id);
        let doc = repo::modify(self.store.as_ref(), &key, &format!("The {kind} {id}"), |doc: &mut Value| {
            let list = list_field_mut(doc, "associatedObjectList")?;
            if !list.iter().any(|v| v.as_str() == Some(object_key)) {
                list.push(Value::String(object_key.to_string()));
            }
            Ok(())
        })
        .await?;
        Ok(string_list(&doc, "associatedObjectList").len())
    }

    pub async fn remove_association(
        &self,
        ns: &str,
        kind: ResourceKind,
        id: &str,
        object_key: &str,
    ) -> CoreResult<usize> {
        let key = keys::resource(ns, kind, id);
        let doc = repo::modify(self.store.as_ref(), &key, &format!("The {kind} {id}"), |doc: &mut Value| {
            list_field_mut(doc, "associatedObjectList")?.retain(|v| v.as_str() != Some(object_key));
            Ok(())
        })
        .await?;
        Ok(string_list(&doc, "associatedObjectList").len())
    }

    pub async fn association_count(&self, ns: &str, kind: ResourceKind, id: &str) -> CoreResult<usize> {
        let key = keys::resource(ns, kind, id);
        match repo::get::<Value>(self.store.as_ref(), &key).await? {
            Some(v) => Ok(string_list(&v.value, "associatedObjectList").len()),
            None => Err(not_found(kind, ns, id)),
        }
    }

    async fn security_groups_of_vnet(&self, ns: &str, vnet_id: &str) -> CoreResult<Vec<String>> {
        let sgs: Vec<SecurityGroupInfo> =
            repo::list_children(self.store.as_ref(), &keys::resource_prefix(ns, ResourceKind::SecurityGroup)).await?;
        Ok(sgs.into_iter().filter(|sg| sg.vnet_id == vnet_id).map(|sg| sg.id).collect())
    }
}

/// The catalog's `Vec<SpecInfo>`/`Vec<ImageInfo>` seen as `&[T]` when `T` is that type.
// `Any` needs the sized `Vec`, not a slice.
#[allow(clippy::ptr_arg)]
fn downcast<S: 'static, T: 'static>(v: &Vec<S>) -> &[T] {
    (v as &dyn std::any::Any).downcast_ref::<Vec<T>>().map(Vec::as_slice).unwrap_or(&[])
}

fn str_field(doc: &Value, name: &str) -> String {
    doc.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn string_list(doc: &Value, name: &str) -> Vec<String> {
    doc.get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Adds object keys to a resource document's `associatedObjectList` (no duplicates).
pub(crate) fn push_associations(doc: &mut Value, object_keys: &[String]) -> CoreResult<()> {
    let list = list_field_mut(doc, "associatedObjectList")?;
    for k in object_keys {
        if !list.iter().any(|v| v.as_str() == Some(k)) {
            list.push(Value::String(k.clone()));
        }
    }
    Ok(())
}

fn list_field_mut<'a>(doc: &'a mut Value, name: &str) -> CoreResult<&'a mut Vec<Value>> {
    let Value::Object(map) = doc else {
        return Err(CoreError::Corrupt { key: name.into(), reason: "not an object".into() });
    };
    let entry = map.entry(name.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    match entry {
        Value::Array(a) => Ok(a),
        _ => Err(CoreError::Corrupt { key: name.into(), reason: "not a list".into() }),
    }
}
