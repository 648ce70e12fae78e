"""The citizens' portal: accounts, 我的帳單 / 北市停車費 / 新增綁定, transfer codes,
history and notices."""
