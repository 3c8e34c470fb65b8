/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sstp_responder.h: a small SSTP (or plain HTTP) server on the loopback for
 * the probe tests and benchmark: answers SSTP_DUPLEX_POST and Call Connect
 * Request like a healthy server, or misbehaves in a chosen way. It runs in
 * its own threads (one epoll loop each, SO_REUSEPORT), so the prober under
 * test keeps the calling thread. Certificates are made in code.
 *
 * TLS sessions resume as with OpenSSL's defaults (and sstp-server): TLS
 * 1.3 tickets (two after a full handshake), TLS 1.2 tickets and session
 * ids, unless cfg.no_tickets or cfg.no_resume.
 */
#ifndef XLB_SSTP_RESPONDER_H
#define XLB_SSTP_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum resp_mode {
	RESP_SSTP,		/* 200, Call Connect Ack, Call Disconnect Ack */
	RESP_CLOSE,		/* accept, then close at once */
	RESP_CLOSE_AFTER_TLS,	/* handshake, then close on the request */
	RESP_STATUS,		/* a reply head with cfg.status to the request */
	RESP_HANG,		/* handshake, then read and say nothing */
	RESP_HANG_TCP,		/* accept, then nothing at all (no handshake) */
	RESP_GARBAGE,		/* non-HTTP bytes in reply to the request */
	RESP_DRIP,		/* a valid 200 head, one byte per drip_ms */
	RESP_ENDLESS,		/* a 200 status line, then header lines forever */
	RESP_NAK,		/* 200, then Call Connect Nak */
	RESP_BAD_ACK,		/* 200, then an Ack with a wrong length */
};

struct resp_cfg {
	enum resp_mode	mode;
	bool		plain;		/* no TLS (http probes) */
	bool		v6;		/* listen on ::1, not 127.0.0.1 */
	bool		expect_proxy_v2; /* close unless a PROXY v2 header comes first */
	bool		tls12;		/* TLS 1.2 at most */
	bool		no_tickets;	/* TLS 1.2 session ids only, no TLS 1.3
					 * resumption */
	bool		no_resume;	/* no tickets, no session cache: every
					 * handshake full */
	bool		no_close_notify; /* close without one, as sstp-server does */
	int		status;		/* RESP_STATUS */
	const char	*head;		/* the 200 head, verbatim; NULL: a default */
	unsigned	drip_ms;	/* RESP_DRIP; default 50 */
	X509		*cert;		/* TLS: the caller's, kept until stop */
	EVP_PKEY	*key;
	int		threads;	/* default 1 */
};

struct resp_stats {
	uint64_t	accepted;
	uint64_t	handshakes;
	uint64_t	resumed;	/* handshakes that resumed a session */
	uint64_t	requests;	/* SSTP_DUPLEX_POST or GET heads */
	uint64_t	acks;		/* Call Connect Acks sent */
	uint64_t	disconnects;	/* Call Disconnects received */
	uint64_t	close_notifies;	/* close_notify received */
	uint64_t	proxy_headers;	/* PROXY v2 LOCAL headers received */
};

struct sstp_responder;

struct sstp_responder *resp_start(const struct resp_cfg *cfg);
uint16_t resp_port(const struct sstp_responder *r);
void resp_set_mode(struct sstp_responder *r, enum resp_mode mode);
void resp_get_stats(struct sstp_responder *r, struct resp_stats *out);
/* New ticket keys and an empty session cache, as after a restart: what was
 * issued before no longer resumes. Not while a handshake is under way. */
void resp_new_ticket_key(struct sstp_responder *r);
/* Serve CERT and KEY (the caller's, kept until stop) from the next
 * connection on, with the same ticket keys: sessions issued before still
 * resume, and a resumed handshake shows no certificate at all. 0 or -1. */
int resp_set_cert(struct sstp_responder *r, X509 *cert, EVP_PKEY *key);
void resp_stop(struct sstp_responder *r);

/* The same in a child process (its memory and CPU apart from the
 * caller's, for measurements): returns its pid and sets *PORT, or -1.
 * End it with kill(pid, SIGTERM) and waitpid(). Call it before the caller
 * starts threads. */
int resp_spawn(const struct resp_cfg *cfg, uint16_t *port);

/* A self-signed ECDSA P-256 certificate for NAME (CN, DNS SAN and IP SANs
 * 127.0.0.1 and ::1), valid from now + NOT_BEFORE to now + NOT_AFTER
 * seconds. 0 or -1. */
int resp_make_cert(const char *name, long not_before, long not_after, X509 **cert,
		   EVP_PKEY **key);
/* CERT as PEM into PATH. 0 or -1. */
int resp_write_pem(const char *path, X509 *cert);

#endif
