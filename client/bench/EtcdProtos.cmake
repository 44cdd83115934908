# wasikv_etcd_proto: C++ messages and stubs of etcd's v3 API, generated from
# the .proto files Debian ships with etcd's Go sources
# (golang-etcd-server-dev, and its dependencies for gogoproto and
# google.api), so wasikv-bench speaks to etcd as its own clients do. Absent
# (no target) when those files are not installed.
#
# etcd's files import one another as "etcd/<package path>", so the include
# root is a directory in the build tree whose "etcd" entry links to the
# installed sources.
find_path(WASIKV_ETCD_GO_SRC go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto
  PATHS /usr/share/gocode/src NO_DEFAULT_PATH
  DOC "Go source root holding etcd's protos (Debian: golang-etcd-server-dev)")
find_path(WASIKV_GOGO_PROTO_DIR gogoproto/gogo.proto
  PATHS /usr/share/gocode/src/github.com/gogo/protobuf NO_DEFAULT_PATH)
find_path(WASIKV_GOOGLEAPIS_PROTO_DIR google/api/annotations.proto
  PATHS /usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
  NO_DEFAULT_PATH)
if(NOT WASIKV_ETCD_GO_SRC OR NOT WASIKV_GOGO_PROTO_DIR OR NOT WASIKV_GOOGLEAPIS_PROTO_DIR)
  return()
endif()

set(_etcd_root ${CMAKE_CURRENT_BINARY_DIR}/etcd-proto-root)
file(MAKE_DIRECTORY ${_etcd_root})
file(CREATE_LINK ${WASIKV_ETCD_GO_SRC}/go.etcd.io/etcd ${_etcd_root}/etcd SYMBOLIC)

set(_etcd_out ${CMAKE_CURRENT_BINARY_DIR}/etcd-proto)
set(_etcd_protos
  etcd/etcdserver/etcdserverpb/rpc.proto
  etcd/mvcc/mvccpb/kv.proto
  etcd/auth/authpb/auth.proto
  gogoproto/gogo.proto
  google/api/annotations.proto
  google/api/http.proto)
set(_etcd_outputs "")
foreach(_proto IN LISTS _etcd_protos)
  string(REGEX REPLACE "\\.proto$" "" _stem ${_proto})
  list(APPEND _etcd_outputs ${_etcd_out}/${_stem}.pb.h ${_etcd_out}/${_stem}.pb.cc)
endforeach()
# Only rpc.proto has services.
list(APPEND _etcd_outputs ${_etcd_out}/etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h
                          ${_etcd_out}/etcd/etcdserver/etcdserverpb/rpc.grpc.pb.cc)
add_custom_command(
  OUTPUT ${_etcd_outputs}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_etcd_out}
  COMMAND protobuf::protoc --cpp_out=${_etcd_out} -I ${_etcd_root} -I ${WASIKV_GOGO_PROTO_DIR}
    -I ${WASIKV_GOOGLEAPIS_PROTO_DIR} ${_etcd_protos}
  COMMAND protobuf::protoc --grpc_out=${_etcd_out}
    --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
    -I ${_etcd_root} -I ${WASIKV_GOGO_PROTO_DIR} -I ${WASIKV_GOOGLEAPIS_PROTO_DIR}
    etcd/etcdserver/etcdserverpb/rpc.proto
  DEPENDS ${WASIKV_ETCD_GO_SRC}/go.etcd.io/etcd/etcdserver/etcdserverpb/rpc.proto
          protobuf::protoc gRPC::grpc_cpp_plugin
  COMMENT "Generating etcd v3 API messages and stubs for wasikv-bench"
  VERBATIM)
add_library(wasikv_etcd_proto STATIC ${_etcd_outputs})
target_include_directories(wasikv_etcd_proto SYSTEM PUBLIC ${_etcd_out})
target_link_libraries(wasikv_etcd_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
