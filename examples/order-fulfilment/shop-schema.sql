-- The order-fulfilment example's own tables, created in the current search_path (never in
-- migrations/: they belong to the example shop, not to Rewind). Running this script drops the
-- shop's tables and creates them empty; Shop.resetShop() runs it and loads the catalogue.
--
-- Stock model: a product's units are either on the shelf (`stock`) or committed to an order by
-- an active reservation (`reserved`). Reserving moves units from stock to reserved; releasing
-- moves them back. A completed order keeps its reservation active: its units left with the
-- parcel and stay counted in `reserved`, so for every product at every moment
--   stock + reserved = initial_stock, and
--   reserved = the sum of the quantities of its reservations whose status is 'reserved'.
-- The CHECKs below keep every count from going negative; the two equalities are what
-- invariants.ts verifies (they span rows and tables, which a CHECK cannot see).

DROP TABLE IF EXISTS shop_shipments, shop_payments, shop_reservations, shop_products;

CREATE TABLE shop_products (
  sku           text    PRIMARY KEY,
  name          text    NOT NULL,
  price_cents   integer NOT NULL CHECK (price_cents > 0),
  initial_stock integer NOT NULL CHECK (initial_stock >= 0),
  stock         integer NOT NULL CHECK (stock >= 0),
  reserved      integer NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);

CREATE TABLE shop_reservations (
  id              integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id        text        NOT NULL,
  sku             text        NOT NULL REFERENCES shop_products (sku),
  quantity        integer     NOT NULL CHECK (quantity > 0),
  status          text        NOT NULL DEFAULT 'reserved'
                              CHECK (status IN ('reserved', 'released')),
  -- The key of the reserving step: a retried reservation finds its row instead of taking twice.
  idempotency_key text        NOT NULL UNIQUE,
  -- The key of the compensation that released it; release is idempotent on the status itself.
  release_key     text,
  reserved_at     timestamptz NOT NULL DEFAULT now(),
  released_at     timestamptz,
  CHECK ((status = 'released') = (released_at IS NOT NULL))
);

CREATE INDEX shop_reservations_order_id ON shop_reservations (order_id);

-- Charges are positive, refunds negative, so an order's payments sum to what it was paid.
-- The key is unique per kind, not alone: the engine gives a compensation the idempotency key of
-- the step it undoes, so a charge and its refund arrive with the same key. `refund_of` is
-- unique too, so a charge is refunded at most once whatever key the refund comes with.
CREATE TABLE shop_payments (
  id              integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id        text        NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('charge', 'refund')),
  amount_cents    integer     NOT NULL,
  refund_of       integer     UNIQUE REFERENCES shop_payments (id),
  idempotency_key text        NOT NULL,
  paid_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, idempotency_key),
  CHECK (
    (kind = 'charge' AND amount_cents > 0 AND refund_of IS NULL)
    OR (kind = 'refund' AND amount_cents < 0 AND refund_of IS NOT NULL)
  )
);

CREATE INDEX shop_payments_order_id ON shop_payments (order_id);

CREATE TABLE shop_shipments (
  id              integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id        text        NOT NULL,
  country         text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  status          text        NOT NULL DEFAULT 'created'
                              CHECK (status IN ('created', 'cancelled')),
  idempotency_key text        NOT NULL UNIQUE,
  cancel_key      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  cancelled_at    timestamptz,
  CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);

CREATE INDEX shop_shipments_order_id ON shop_shipments (order_id);
