//! Server reflection answers in both versions over mTLS: `v1` (grpcurl,
//! Postman) and `v1alpha` (Python's grpcio-reflection, Evans, older
//! grpcurl), listing the federation and health services.

use tokio_stream::StreamExt;
use tudashalo_pki::Role;
use tudashalo_proto::tls::ClientTls;

use super::support::{Pki, TestNode, guard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_reflection_versions_list_the_services() {
    let pki = Pki::new();
    let node = TestNode::start(&pki, "edelenyi", "").await;
    let material = pki.material("elemzo", Role::Operator);
    let channel = ClientTls::fixed(&material)
        .expect("client TLS")
        .channel(&node.url, None)
        .expect("a channel");

    use tonic_reflection::pb::v1;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = guard(
        "v1",
        client.server_reflection_info(tokio_stream::iter([request])),
    )
    .await
    .expect("v1 reflection")
    .into_inner();
    let answer = guard("v1 answer", answers.next())
        .await
        .expect("an answer")
        .expect("ok");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.iter().any(|n| n == "tudashalo.v1.Federation"),
        "{names:?}"
    );

    use tonic_reflection::pb::v1alpha as alpha;
    let mut client = alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = guard(
        "v1alpha",
        client.server_reflection_info(tokio_stream::iter([request])),
    )
    .await
    .expect("v1alpha reflection")
    .into_inner();
    let answer = guard("v1alpha answer", answers.next())
        .await
        .expect("an answer")
        .expect("ok");
    let Some(alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.iter().any(|n| n == "tudashalo.v1.Federation"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "grpc.health.v1.Health"),
        "{names:?}"
    );
}
