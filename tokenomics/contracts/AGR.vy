# pragma version 0.4.3
# pragma evm-version shanghai
"""
@title Agora Token (AGR)
@notice A plain ERC-20 (EIP-20) with a fixed supply of 1,000,000,000 AGR, all minted to the
        deployer. No mint, burn, pause, fee or owner: the platform reads `Transfer` logs of this
        exact contract as proof of payment, so the token does nothing else.
@dev    `shanghai` is pinned because the local JSON-RPC node (ganache 7.9) predates Cancun.
"""

from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

name: public(constant(String[11])) = "Agora Token"
symbol: public(constant(String[3])) = "AGR"
decimals: public(constant(uint8)) = 18
# 10**9 whole tokens in base units (10**-18 AGR).
SUPPLY: constant(uint256) = 10**9 * 10**18

totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    self.totalSupply = SUPPLY
    self.balanceOf[msg.sender] = SUPPLY
    log Transfer(sender=empty(address), receiver=msg.sender, value=SUPPLY)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "AGR: transfer to the zero address"
    balance: uint256 = self.balanceOf[sender]
    assert balance >= amount, "AGR: amount exceeds balance"
    self.balanceOf[sender] = balance - amount
    # Cannot overflow: the sum of all balances is the fixed supply.
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    # The maximum allowance is the customary "unlimited" approval and is never decreased.
    if allowed != max_value(uint256):
        assert allowed >= amount, "AGR: amount exceeds allowance"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    assert spender != empty(address), "AGR: approve to the zero address"
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True
