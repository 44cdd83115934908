#include "server/tls/certificate_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "server/common/status_macros.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

// A certificate or key file is a few KiB; a bundle of CAs some hundred.
constexpr size_t kMaxFileBytes = 4 << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::StatusOr<std::string> ReadFile(std::string_view flag, const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, " ", path, ": cannot read: ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[16384];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > kMaxFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          StrCat("--", flag, " ", path, ": larger than ", kMaxFileBytes, " bytes"));
    }
  }
  const int read_errno = errno;
  close(fd);
  if (n < 0) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, " ", path, ": cannot read: ", std::strerror(read_errno)));
  }
  return contents;
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Never prompts for a passphrase: encrypted keys are refused.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Every certificate in `pem`, in order; at least one.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(std::string_view flag,
                                                       const std::string& path,
                                                       const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends at the end of the input (no more BEGIN lines), or at a
  // certificate block that does not parse.
  const unsigned long error = ERR_peek_last_error();
  const bool at_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!certs.empty() && !at_end) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, " ", path, ": certificate ", certs.size() + 1, " does not parse"));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        StrCat("--", flag, " ", path, ": no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  return certs;
}

std::string SubjectOf(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string SerialOf(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string serial = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return serial;
}

std::string NotAfterOf(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert));
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

absl::StatusOr<CertificateFiles> LoadCertificateFiles(const ServerTlsOptions& options) {
  CertificateFiles files;
  ASSIGN_OR_RETURN(files.cert_chain_pem, ReadFile("tls-cert-file", options.cert_file));
  ASSIGN_OR_RETURN(files.private_key_pem, ReadFile("tls-key-file", options.key_file));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                   ParseCertificates("tls-cert-file", options.cert_file, files.cert_chain_pem));

  BioPtr key_bio = MemoryBio(files.private_key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(StrCat(
        "--tls-key-file ", options.key_file,
        ": no PEM private key that parses (-----BEGIN PRIVATE KEY-----; encrypted keys are not "
        "supported)"));
  }
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat("--tls-key-file ", options.key_file,
                                             " is not the key of the certificate in ",
                                             "--tls-cert-file ", options.cert_file));
  }

  if (!options.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(files.client_ca_pem, ReadFile("tls-client-ca-file", options.client_ca_file));
    RETURN_IF_ERROR(
        ParseCertificates("tls-client-ca-file", options.client_ca_file, files.client_ca_pem)
            .status());
  }

  files.subject = SubjectOf(leaf);
  files.serial = SerialOf(leaf);
  files.not_after = NotAfterOf(leaf);
  files.outside_validity = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 ||
                           X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0;
  return files;
}

}  // namespace wasikv
