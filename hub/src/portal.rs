//! The portal's [`Backend`] on a hub: every page's request goes through the
//! hub's own federated search, document routing and aggregates, relayed on
//! the viewer's behalf (`tudashalo-on-behalf-of`: the account's principal,
//! or the public one), exactly as a parent hub's request would be. The
//! hub's request limits apply as they do to gRPC callers; its members
//! decide what the viewer sees and audit it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tonic::Code;
use tudashalo_core::pb as convert;
use tudashalo_portal::backend::{
    Aggregated, Backend, BackendError, MemberView, Original, Overview,
};
use tudashalo_proto::identity::Principal;
use tudashalo_proto::pb;

use crate::error::Error;
use crate::federation::Hub;
use crate::member::Health;
use crate::relay::Relay;

/// The hub, as the portal asks it.
#[derive(Debug, Clone)]
pub struct HubBackend {
    hub: Arc<Hub>,
}

impl HubBackend {
    pub fn new(hub: Arc<Hub>) -> HubBackend {
        HubBackend { hub }
    }

    /// The relay of a portal request: on behalf of `viewer`, via this hub.
    fn relay(&self, viewer: &Principal) -> Relay {
        Relay {
            on_behalf_of: Some(viewer.to_string()),
            via: vec![self.hub.name.clone()],
            caller: None,
            from_parent: false,
        }
    }

    fn deadline(&self, timeout: Duration) -> Instant {
        self.hub.deadline(Some(timeout))
    }

    /// A document request within the hub's request limits (as the gRPC
    /// adapter checks them).
    fn document_request(
        &self,
        member: &str,
        id: &str,
    ) -> Result<pb::GetDocumentRequest, BackendError> {
        let named = [id.to_string(), member.to_string()];
        self.hub
            .limits()
            .requests
            .check_list("id and member", &named, 2, "max_value_chars")
            .map_err(|e| backend_error(e.into()))?;
        Ok(pb::GetDocumentRequest {
            id: id.to_string(),
            member: member.to_string(),
        })
    }
}

/// A hub error as the portal shows it, by its gRPC code (one table: the
/// hub's own, [`Error::code`]).
pub fn backend_error(error: Error) -> BackendError {
    let status = tonic::Status::from(error);
    let message = status.message().to_string();
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => BackendError::Denied(message),
        Code::NotFound => BackendError::NotFound(message),
        Code::InvalidArgument | Code::ResourceExhausted | Code::OutOfRange => {
            BackendError::Invalid(message)
        }
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::DataLoss => {
            BackendError::Unavailable(message)
        }
        _ => BackendError::Internal(message),
    }
}

fn health_name(health: &Health) -> (&'static str, String) {
    match health {
        Health::Unknown => ("unknown", String::new()),
        Health::Up => ("ok", String::new()),
        Health::Down { error, .. } => ("down", error.clone()),
    }
}

#[async_trait]
impl Backend for HubBackend {
    fn name(&self) -> &str {
        &self.hub.name
    }

    fn title(&self) -> &str {
        &self.hub.display_name
    }

    fn role(&self) -> &'static str {
        "hub"
    }

    fn member_title(&self, path: &str) -> Option<String> {
        let (head, rest) = path.split_once('/').unwrap_or((path, ""));
        let member = self.hub.members().iter().find(|m| m.name == head)?;
        // Deeper paths (a national hub's) are shown as they are below the
        // member's own name.
        Some(if rest.is_empty() {
            member.display_name.clone()
        } else {
            format!("{} / {rest}", member.display_name)
        })
    }

    async fn overview(&self, viewer: &Principal, timeout: Duration) -> Overview {
        let relay = self.relay(viewer);
        let infos = self.hub.member_infos(self.deadline(timeout), &relay).await;
        let mut indicators = std::collections::BTreeMap::new();
        let members = infos
            .into_iter()
            .map(|(member, result)| {
                let (mut state, mut message) = health_name(&member.health());
                let info = match result {
                    Ok(info) => {
                        state = "ok";
                        message.clear();
                        for i in &info.indicators {
                            indicators
                                .entry(i.code.clone())
                                .or_insert_with(|| i.clone());
                        }
                        Some(info)
                    }
                    Err(error) => {
                        if state == "ok" || state == "unknown" {
                            state = "down";
                        }
                        message = backend_error(error).to_string();
                        None
                    }
                };
                MemberView {
                    path: member.name.clone(),
                    display_name: info
                        .as_ref()
                        .map(|i| i.display_name.clone())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| member.display_name.clone()),
                    state: state.to_string(),
                    message,
                    info,
                }
            })
            .collect();
        Overview {
            name: self.hub.name.clone(),
            display_name: self.hub.display_name.clone(),
            role: "hub".into(),
            members,
            indicators: indicators.into_values().collect(),
        }
    }

    async fn search(
        &self,
        viewer: &Principal,
        request: pb::SearchRequest,
        timeout: Duration,
    ) -> Result<pb::SearchResponse, BackendError> {
        convert::check_search_request(&self.hub.limits().requests, &request)
            .map_err(|e| backend_error(e.into()))?;
        self.hub
            .search(request, self.deadline(timeout), &self.relay(viewer))
            .await
            .map_err(backend_error)
    }

    async fn document(
        &self,
        viewer: &Principal,
        member: &str,
        id: &str,
        timeout: Duration,
    ) -> Result<pb::GetDocumentResponse, BackendError> {
        let request = self.document_request(member, id)?;
        self.hub
            .get_document(request, self.deadline(timeout), &self.relay(viewer))
            .await
            .map_err(backend_error)
    }

    async fn original(
        &self,
        viewer: &Principal,
        member: &str,
        id: &str,
        timeout: Duration,
    ) -> Result<Original, BackendError> {
        let request = self.document_request(member, id)?;
        let stream = self
            .hub
            .get_original(request, self.deadline(timeout), &self.relay(viewer))
            .await
            .map_err(backend_error)?;
        // The hub's own relay (idle budget per chunk, the declared size
        // enforced) into a small channel; the portal reads it as it sends.
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(stream.relay(tx));
        let first = match rx.recv().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(status)) => return Err(backend_error(Error::Member(status))),
            None => {
                return Err(BackendError::Unavailable(
                    "the original's stream ended at once".into(),
                ));
            }
        };
        let source = first.source.clone().ok_or_else(|| {
            BackendError::Unavailable("the member did not say what the file is".into())
        })?;
        let (out, chunks) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            if out.send(Ok(first.data)).await.is_err() {
                return;
            }
            while let Some(chunk) = rx.recv().await {
                let item = chunk
                    .map(|c| c.data)
                    .map_err(|status| backend_error(Error::Member(status)));
                let failed = item.is_err();
                if out.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Original { source, chunks })
    }

    async fn network(
        &self,
        viewer: &Principal,
        request: pb::NetworkRequest,
        timeout: Duration,
    ) -> Result<pb::NetworkResponse, BackendError> {
        self.hub
            .network(request, self.deadline(timeout), &self.relay(viewer))
            .await
            .map_err(backend_error)
    }

    async fn aggregate(
        &self,
        viewer: &Principal,
        request: pb::AggregateRequest,
        max_cells: usize,
        timeout: Duration,
    ) -> Result<Aggregated, BackendError> {
        let request = pb::AggregateRequest {
            partials: false,
            ..request
        };
        convert::check_aggregate_request(&self.hub.limits().requests, &request)
            .map_err(|e| backend_error(e.into()))?;
        tudashalo_core::aggregate::AggregateQuery::try_from(&request)
            .map_err(|e| backend_error(e.into()))?;
        self.hub
            .select_members(&request.members)
            .map_err(backend_error)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let task = tokio::spawn(self.hub.clone().aggregate(
            request,
            self.deadline(timeout),
            self.relay(viewer),
            tx,
        ));
        let mut answer = Aggregated::default();
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.map_err(|status| backend_error(Error::Member(status)))?;
            answer.cells.extend(chunk.cells);
            answer.members.extend(chunk.members);
            if answer.cells.len() > max_cells {
                task.abort();
                return Err(BackendError::Invalid(format!(
                    "the answer has more than {max_cells} cells (the portal's MAX_CELLS); ask for fewer years or a coarser level"
                )));
            }
        }
        Ok(answer)
    }
}
