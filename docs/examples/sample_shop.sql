-- A small shop, the sample database of sqlite_mcp.py: customers, products, orders.
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  joined DATE NOT NULL
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  price_cents INTEGER NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL,
  ordered DATE NOT NULL
);
INSERT INTO customers VALUES
  (1, 'Ada Lovelace', 'London', '2026-01-12'),
  (2, 'Grace Hopper', 'New York', '2026-02-03'),
  (3, 'Li Wei', 'Shanghai', '2026-02-20'),
  (4, 'Amara Okafor', 'Lagos', '2026-03-08'),
  (5, 'Mateo García', 'Madrid', '2026-04-15');
INSERT INTO products VALUES
  (1, 'Fountain pen', 'stationery', 2400),
  (2, 'Notebook', 'stationery', 650),
  (3, 'Desk lamp', 'home', 3900),
  (4, 'Tea sampler', 'food', 1800),
  (5, 'Headphones', 'electronics', 8900);
INSERT INTO orders VALUES
  (1, 1, 1, 1, '2026-03-01'),
  (2, 1, 2, 3, '2026-03-01'),
  (3, 2, 5, 1, '2026-03-14'),
  (4, 3, 4, 2, '2026-04-02'),
  (5, 3, 2, 5, '2026-04-02'),
  (6, 4, 3, 1, '2026-05-19'),
  (7, 5, 4, 1, '2026-06-07'),
  (8, 2, 1, 2, '2026-06-30');
