# One imported target per external dependency, all found through pkg-config
# (Debian 12 packages: libavro-dev librdkafka-dev libpq-dev libmicrohttpd-dev
# libcmocka-dev libyaml-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(AVRO REQUIRED IMPORTED_TARGET avro-c)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
# libgnutls28-dev: random tokens and SHA-256 digests (chan_authz).
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
if(BUILD_TESTING)
    pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
